package dev.gestalt.files;

import dev.gestalt.cluster.ChannelAddOn;
import dev.gestalt.cluster.LoadEntry;
import dev.gestalt.cluster.Membership;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * This node's part of a MooseFS file space. Every second it reconciles what runs here with
 * what the cluster decided ({@link MasterElection}): a chunkserver always; the master if this
 * node was appointed <em>and</em> sees a majority of the core (a master cut off in a minority
 * stops at once); a metalogger if appointed; the mount once a master is known. The Raft
 * leader also appoints ({@link MasterPlacement}). Daemons that die are restarted by the next
 * round. A master appointed in a new epoch starts from this node's metalogger copy
 * ({@link MasterPromotion}).
 *
 * <p>Lifecycle: constructed (add-ons ready) → {@link #start} (leftovers of a crashed run
 * stopped, stale mount removed, rounds begin) → {@link #close} (unmount, then chunkserver,
 * metalogger and master stopped; the master saves its metadata on the way out).
 */
public final class MooseFsSpace implements FileSpace {

    private static final Logger LOG = Logger.getLogger(MooseFsSpace.class.getName());
    /** How long the master may be out of the view before a successor is appointed. */
    static final long GRACE_MILLIS = 3_000;
    static final Path MFSMASTER = Path.of("/usr/sbin/mfsmaster");
    static final Path MFSCHUNKSERVER = Path.of("/usr/sbin/mfschunkserver");
    static final Path MFSMETALOGGER = Path.of("/usr/sbin/mfsmetalogger");
    static final Path MFSMOUNT = Path.of("/usr/bin/mfsmount");

    private final FilesConfig cfg;
    private final String node;
    private final String bind;
    private final MooseFsLayout layout;
    private final MasterElection election;
    private final MasterHosts hosts;
    private final MountPoint mountPoint;
    private final EngineProcess master;
    private final EngineProcess chunkserver;
    private final EngineProcess metalogger;
    private final EngineProcess mount;
    private final ScheduledExecutorService rounds;
    private volatile Membership membership;
    private volatile String problem = "";
    private long masterAbsentSince;
    private boolean rootSetUp;
    private volatile boolean closed;

    MooseFsSpace(FilesConfig cfg, String node, String cluster, String bind, Path stateDir) {
        this.cfg = cfg;
        this.node = node;
        this.bind = bind;
        this.layout = new MooseFsLayout(stateDir);
        this.rounds = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("gestalt-files").factory());
        this.election = new MasterElection(node, cfg.core(), stateDir.resolve("raft"), s -> {
            LOG.info("file space: " + s);
            // a restarted node replays its election log while it joins, before start(): the first
            // round (at start) acts on the state replayed
            if (!closed && membership != null) {
                rounds.execute(this::round);
            }
        });
        this.hosts = new MasterHosts(Path.of("/etc/hosts"), cluster);
        this.mountPoint = new MountPoint(cfg.mount());
        this.master = new EngineProcess("mfsmaster", layout.run());
        this.chunkserver = new EngineProcess("mfschunkserver", layout.run());
        this.metalogger = new EngineProcess("mfsmetalogger", layout.run());
        this.mount = new EngineProcess("mfsmount", layout.run());
    }

    static boolean installed() {
        return List.of(MFSMASTER, MFSCHUNKSERVER, MFSMETALOGGER, MFSMOUNT).stream().allMatch(Files::isExecutable);
    }

    @Override
    public List<ChannelAddOn> addOns() {
        return List.of(election);
    }

    @Override
    public void start(Membership m) throws IOException {
        this.membership = m;
        layout.create();
        for (EngineProcess p : List.of(mount, metalogger, chunkserver, master)) {
            p.stopLeftover();
        }
        mountPoint.prepare();
        rounds.scheduleWithFixedDelay(this::round, 0, 1, TimeUnit.SECONDS);
    }

    @Override
    public Path mount() {
        return cfg.mount();
    }

    private synchronized void round() {
        if (closed) {
            return;
        }
        try {
            List<String> view = membership.view();
            FileSpaceState st = election.state();
            if (election.isLeader()) {
                appoint(st, view);
                st = election.state();
            }
            if (st.secret().isEmpty()) {
                problem = "waiting for the cluster to decide (a majority of " + cfg.core() + " must be up)";
                return;
            }
            boolean majority = view.stream().filter(cfg.core()::contains).count() >= cfg.majority();
            if (!election.current()) {
                // what it replayed of its own log may be from before a failover: no master, no
                // mount on it until the leader brought it up to date (what runs goes on meanwhile,
                // but a master cut off in a minority stops, as below)
                if (!majority && master.running()) {
                    LOG.warning("file space: stopping the master here: this node sees no majority of " + cfg.core());
                    master.stop(Duration.ofSeconds(30));
                }
                problem = "catching up with the cluster's decisions (a majority of " + cfg.core() + " must be up)";
                return;
            }
            if (!configure(st)) {
                problem = "waiting for the address of the master's node " + st.master();
                return;
            }
            if (st.master().equals(node) && majority) {
                new MasterPromotion(layout, master, metalogger, bind, cfg.port()).ensure(st.epoch());
            } else {
                if (master.running()) {
                    LOG.warning("file space: stopping the master here: " + (majority ? "the cluster appointed "
                        + st.master() : "this node sees no majority of " + cfg.core()));
                }
                master.stop(Duration.ofSeconds(30));
            }
            if (st.metaloggers().contains(node) && !st.master().equals(node)) {
                metalogger.ensureRunning(List.of(MFSMETALOGGER.toString(), "-f", "-c", layout.metaloggerCfg().toString()));
            } else {
                metalogger.stop(Duration.ofSeconds(10));
            }
            chunkserver.ensureRunning(List.of(MFSCHUNKSERVER.toString(), "-f", "-c", layout.chunkserverCfg().toString()));
            if (st.hasMaster() && (mount.running() || prepareMount())) {
                mount.ensureRunning(mountCommand());
                setUpRoot(st);
            }
            problem = majority ? "" : "this node sees no majority of " + cfg.core();
        } catch (Exception e) {
            problem = e.toString();
            LOG.warning("file space: round failed: " + e);
        }
    }

    private void appoint(FileSpaceState st, List<String> view) {
        long now = System.currentTimeMillis();
        if (st.hasMaster() && !view.contains(st.master())) {
            masterAbsentSince = masterAbsentSince == 0 ? now : masterAbsentSince;
        } else {
            masterAbsentSince = 0;
        }
        FileSpaceState next = MasterPlacement.decide(st, node, view, masterAbsentSince == 0 ? 0 : now - masterAbsentSince,
            GRACE_MILLIS);
        if (next != null) {
            LOG.info("file space: appointing " + next);
            election.propose(st, next);
        }
    }

    /**
     * Writes the configs for the current state (the master reloads its exports when they change)
     * and points the master's name at its node; false while that node's address is unknown.
     */
    private boolean configure(FileSpaceState st) throws IOException {
        String secret = st.secret();
        layout.write(layout.masterCfg(), MooseFsLayout.master(layout.master(), layout.exportsCfg(), bind, cfg.port(), secret));
        if (layout.write(layout.exportsCfg(), MooseFsLayout.exports(memberAddresses(), secret))) {
            master.signal("HUP");
        }
        layout.write(layout.hddCfg(), layout.chunks() + "\n");
        layout.write(layout.chunkserverCfg(), MooseFsLayout.chunkserver(layout.chunkserver(), layout.hddCfg(), hosts.name(),
            bind, cfg.port(), secret));
        layout.write(layout.metaloggerCfg(), MooseFsLayout.metalogger(layout.metalogger(), hosts.name(), bind, cfg.port()));
        layout.write(layout.mountCfg(), "# mfsmount options are on its command line; this file keeps /etc/mfs out\n");
        if (layout.write(layout.passwordFile(), secret + "\n")) {
            MooseFsLayout.own(layout.passwordFile(), "root", "root");
            Files.setPosixFilePermissions(layout.passwordFile(), java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        }
        String address = address(st.master());
        if (address == null) {
            return false;
        }
        if (hosts.point(address)) {
            LOG.info("file space: " + hosts.name() + " is now " + address + " (" + st.master() + ")");
        }
        return true;
    }

    private boolean prepareMount() throws IOException {
        mountPoint.prepare();
        return true;
    }

    private List<String> mountCommand() {
        return List.of(MFSMOUNT.toString(), cfg.mount().toString(), "-f",
            "-o", "mfscfgfile=" + layout.mountCfg(),
            "-o", "mfsmaster=" + hosts.name() + ",mfsport=" + (cfg.port() + 2),
            "-o", "mfspassfile=" + layout.passwordFile(),
            "-o", "mfsbind=" + bind + ",mfsnice=0");
    }

    /**
     * Once, on the master's node: the tree's root gets mode 1777 (like /tmp: everyone may create
     * entries, only their owner may remove them; MooseFS creates it 0777), and the copies wanted
     * (MooseFS's default class keeps 2; another number is set on the root, inherited by new entries).
     */
    private void setUpRoot(FileSpaceState st) throws IOException {
        if (rootSetUp || !st.master().equals(node) || mountPoint.mountedType().isEmpty()) {
            return;
        }
        var mode = Files.getPosixFilePermissions(cfg.mount());
        if (mode.equals(java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"))) {
            EngineProcess.run("chmod", "1777", cfg.mount().toString());
        }
        rootSetUp = cfg.copies() == 2
            || EngineProcess.run("mfssetgoal", Integer.toString(cfg.copies()), cfg.mount().toString()).ok();
    }

    /** The cluster address of a node (this node's bind address for itself), null if unknown. */
    String address(String name) {
        if (name.equals(node)) {
            return bind;
        }
        LoadEntry e = membership.loadTable().get(name);
        if (e == null) {
            return null;
        }
        String rpc = e.report().rpcAddress();
        int colon = rpc.lastIndexOf(':');
        return colon > 0 ? rpc.substring(0, colon) : null;
    }

    /** Addresses of every node this one has heard of (authenticated members), and its own. */
    private List<String> memberAddresses() {
        var out = new TreeSet<String>();
        out.add(bind);
        for (Map.Entry<String, LoadEntry> e : membership.loadTable().entrySet()) {
            String a = address(e.getKey());
            if (a != null && !a.isEmpty()) {
                out.add(a);
            }
        }
        return new ArrayList<>(out);
    }

    @Override
    public java.util.Optional<String> secret() {
        String s = election.state().secret();
        return s.isEmpty() ? java.util.Optional.empty() : java.util.Optional.of(s);
    }

    @Override
    public FsStatus status() {
        return new MooseFsStatus(cfg, node, election.state(), membership, this::address, problem,
            mount.running() && mountPoint.mountedType().isPresent()).read();
    }

    /** Stops everything, once the round in progress (if any) has ended or, after 10 s, been interrupted. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        rounds.shutdown();
        try {
            if (!rounds.awaitTermination(10, TimeUnit.SECONDS)) {
                rounds.shutdownNow();
                rounds.awaitTermination(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        long t0 = System.nanoTime();
        mountPoint.unmount();
        mount.stop(Duration.ofSeconds(5));
        chunkserver.stop(Duration.ofSeconds(10));
        metalogger.stop(Duration.ofSeconds(5));
        master.stop(Duration.ofSeconds(20));
        LOG.info("file space: stopped in " + (System.nanoTime() - t0) / 1_000_000 + " ms");
    }
}

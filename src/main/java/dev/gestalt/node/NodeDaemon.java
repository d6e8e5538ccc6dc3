package dev.gestalt.node;

import dev.gestalt.Version;
import dev.gestalt.cluster.LoadReport;
import dev.gestalt.cluster.Membership;
import dev.gestalt.cluster.MembershipConfig;
import dev.gestalt.cluster.MembershipListener;
import dev.gestalt.files.FileSpace;
import dev.gestalt.process.checkpoint.CheckpointStore;
import dev.gestalt.process.remote.CheckpointService;
import dev.gestalt.process.remote.AutoRestart;
import dev.gestalt.process.remote.CheckpointTimer;
import dev.gestalt.process.remote.StaleCopies;
import dev.gestalt.files.FilesService;
import dev.gestalt.cluster.Migration;
import dev.gestalt.files.FolderPlacement;
import dev.gestalt.os.Posix;
import dev.gestalt.process.GpidAllocator;
import dev.gestalt.process.Placements;
import dev.gestalt.process.ProcessSpace;
import dev.gestalt.process.migrate.MigrationCheck;
import dev.gestalt.process.placement.LeastLoaded;
import dev.gestalt.process.EventLog;
import dev.gestalt.process.remote.Balancer;
import dev.gestalt.process.remote.Draining;
import dev.gestalt.process.remote.ExecService;
import dev.gestalt.process.remote.MigrateService;
import dev.gestalt.process.remote.ProcsService;
import dev.gestalt.process.supervisor.LoadSample;
import dev.gestalt.process.supervisor.Supervisor;
import dev.gestalt.rpc.Peers;
import dev.gestalt.rpc.local.Frame;
import dev.gestalt.rpc.local.LocalServer;
import dev.gestalt.security.GrpcTls;
import dev.gestalt.security.NodeCredentials;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.util.TransmitStatusRuntimeExceptionInterceptor;
import io.grpc.inprocess.InProcessServerBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * One node: wires the spaces to the engines and runs until stopped.
 * Start order: state folder (locked), supervisor, gRPC servers, membership
 * (with the file space's Raft on its channel), the file space (its engines and
 * mount come up in the background), then the CLI socket last, so a CLI never
 * reaches a half-started node. On stop the file space goes right after the CLI
 * socket, while the node is still in the view.
 * Stop order is the reverse; a graceful stop leaves the view at once.
 */
public final class NodeDaemon implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(NodeDaemon.class.getName());

    private final NodeConfig config;
    private FileChannel lockFile;
    private FileLock lock;
    private Supervisor supervisor;
    private Server grpc;
    private Server inProcess;
    private volatile Membership membership;
    private volatile Peers peers;
    private LocalServer local;
    private ExecService exec;
    private volatile FileSpace files;
    private final CompletableFuture<String> refused = new CompletableFuture<>();
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Whether this node can move its processes: {@link MigrationCheck}, run once as the node starts. */
    private volatile Migration migration = Migration.UNKNOWN;
    private Draining draining;
    private volatile Balancer balancer;
    private volatile StaleCopies staleCopies;
    private volatile CheckpointTimer checkpointTimer;
    private volatile AutoRestart autoRestart;

    public NodeDaemon(NodeConfig config) {
        this.config = config;
    }

    public NodeConfig config() {
        return config;
    }

    public void start() throws Exception {
        Files.createDirectories(config.stateDir());
        lockFile = FileChannel.open(config.stateDir().resolve("lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        lock = lockFile.tryLock();
        if (lock == null) {
            throw new IOException("another node daemon is using " + config.stateDir());
        }
        Identity.check(config.stateDir(), config.name(), config.id());
        var creds = new NodeCredentials(config.credentials());
        Credentials.check(config, creds);
        supervisor = new Supervisor(config.stateDir(), config.jobHistory());
        Thread.ofVirtual().name("migration-check").start(() -> {
            migration = MigrationCheck.run();
            LOG.info("migration: " + (migration.available() ? "available (" + migration.detail() + ")"
                : "not available: " + migration.detail()));
        });
        try {
            startServices(creds);
        } catch (Exception | Error e) {
            // the jobs it re-adopted were not stopped on purpose: the next start takes them over
            supervisor.leave();
            supervisor = null;
            throw e;
        }
    }

    /** The cluster's checkpoints, in the file space once this node has one. */
    private CheckpointStore checkpointStore() {
        return new CheckpointStore(() -> files == null ? java.util.Optional.empty() : files.tree(),
            () -> files == null ? java.util.Optional.empty() : files.secret());
    }

    private void startServices(NodeCredentials creds) throws Exception {
        draining = new Draining(config.stateDir(), () -> {
            Membership m = membership;
            if (m != null) {
                m.gossipNow();
            }
        });
        checkpointTimer = new CheckpointTimer(supervisor::checkpointEvery);
        checkpointTimer.resume(supervisor.jobs(), supervisor::checkpointEvery); // the jobs it re-adopted
        exec = new ExecService(config.name(), supervisor, config.remoteUids(), FolderPlacement::absent, draining, checkpointTimer);
        var placements = new Placements();
        var events = new EventLog(config.name(), config.stateDir().resolve("events"));
        var procs = new ProcsService(config.name(), config.id(), supervisor, placements, events);
        var spaceHolder = new ProcessSpace[1];
        var migrate = new MigrateService(config.name(), supervisor, () -> spaceHolder[0], () -> migration,
            config.remoteUids(), config.stateDir(), draining, exec, events, config.bind(), config.incomingMoves());
        var checkpoints = new CheckpointService(config.name(), supervisor, () -> spaceHolder[0], () -> migration,
            config.remoteUids(), config.stateDir(), draining, events, checkpointStore(), checkpointTimer);
        staleCopies = new StaleCopies(config.name(), supervisor, () -> spaceHolder[0], migrate, events);
        autoRestart = new AutoRestart(config.name(), () -> spaceHolder[0], checkpointStore(), events);
        if (config.balance()) {
            balancer = new Balancer(config.name(), supervisor, () -> spaceHolder[0], () -> migration, draining, migrate);
        }
        var executor = Executors.newVirtualThreadPerTaskExecutor();
        var peer = GrpcTls.peerInterceptor(creds.revocations());
        grpc = Peers.liveness(GrpcTls.serverBuilder(new InetSocketAddress(config.bind(), config.rpcPort()), creds))
            .executor(executor)
            // a start carries the caller's arguments and environment, up to what the local socket takes
            .maxInboundMessageSize(Frame.MAX_REQUEST + (1 << 20))
            .addService(ServerInterceptors.intercept(exec.definition(), peer))
            .addService(ServerInterceptors.intercept(procs, peer))
            .addService(ServerInterceptors.intercept(migrate, peer))
            .addService(ServerInterceptors.intercept(checkpoints, peer))
            .addService(ServerInterceptors.intercept(new FilesService(), peer))
            // a service that throws a StatusRuntimeException (permission denied, no such process)
            // answers with that status, not UNKNOWN ("Application error"), which reads as "node lost"
            .intercept(TransmitStatusRuntimeExceptionInterceptor.instance())
            .build().start();
        String inProcessName = "gestalt-" + config.name() + "-" + ProcessHandle.current().pid();
        inProcess = InProcessServerBuilder.forName(inProcessName).executor(executor)
            .addService(ServerInterceptors.intercept(exec, GrpcTls.sameNodeInterceptor()))
            .addService(ServerInterceptors.intercept(procs, GrpcTls.sameNodeInterceptor()))
            .addService(ServerInterceptors.intercept(migrate, GrpcTls.sameNodeInterceptor()))
            .addService(ServerInterceptors.intercept(checkpoints, GrpcTls.sameNodeInterceptor()))
            .intercept(TransmitStatusRuntimeExceptionInterceptor.instance())
            .build().start();

        String rpcAddress = config.bind() + ":" + config.rpcPort();
        var mcfg = new MembershipConfig(config.cluster(), config.name(), config.id(), config.bind(),
            config.gossipPort(), config.seeds(), creds, rpcAddress, MembershipConfig.DEFAULT_GOSSIP);
        files = FileSpace.of(config.files(), config.name(), config.cluster(), config.bind(), config.stateDir(),
            Posix.geteuid() == 0);
        membership = Membership.start(mcfg, () -> loadReport(rpcAddress), new MembershipListener() {
            @Override
            public void onView(java.util.Set<String> members, java.util.Set<String> joined, java.util.Set<String> left) {
                if (!joined.isEmpty() || !left.isEmpty()) {
                    LOG.info("view " + members + (joined.isEmpty() ? "" : " joined " + joined)
                        + (left.isEmpty() ? "" : " left " + left));
                }
                // the view's first member (its coordinator) keeps these for gestalt events: once, not once per node
                if (!members.isEmpty() && members.iterator().next().equals(config.name())) {
                    joined.stream().filter(n -> !n.equals(config.name()))
                        .forEach(n -> events.record("node joined", "", n + " is in the cluster; view " + members));
                    left.forEach(n -> events.record("node left", "", n + " left the cluster (stopped, dead or cut off);"
                        + " view " + members));
                }
                if (!left.isEmpty()) {
                    Peers p = peers;
                    if (p != null) {
                        left.forEach(p::forget); // calls to a node that left end now, streams included
                    }
                    exec.homesLost(left);
                    if (spaceHolder[0] != null) {
                        spaceHolder[0].nodesLeft(left);
                    }
                }
            }

            @Override
            public void onRefused(String reason) {
                refused.complete("the cluster refused " + config.name() + " (id " + config.id() + "): " + reason);
            }
        }, files.addOns());
        peers = new Peers(config.name(), inProcessName, creds, node -> {
            var e = membership.loadTable().get(node);
            return e == null ? null : e.report().rpcAddress();
        });
        var space = new ProcessSpace(config.name(), config.id(), membership, peers,
            new GpidAllocator(config.id(), config.stateDir().resolve("gpid")), new LeastLoaded(), placements);
        spaceHolder[0] = space;
        files.start(membership);
        var folders = new FolderPlacement(config.name(), files.tree().orElse(null), space::channel, membership::view);
        local = new LocalServer(config.socket(), config.name(), Posix.geteuid(),
            Handlers.all(space, config.stateDir().resolve("spill"), files, folders));
        local.start();
        staleCopies.start();
        autoRestart.start();
        if (balancer != null) {
            balancer.start();
        }
        Thread.ofVirtual().name("certificate-expiry").start(() -> {
            try {
                while (!closed.get()) {
                    Thread.sleep(java.time.Duration.ofDays(1));
                    Credentials.warnIfDue(creds);
                }
            } catch (InterruptedException e) {
                // stopping
            }
        });
        LOG.info("node " + config.name() + " (id " + config.id() + ") of cluster " + config.cluster() + " up: gossip "
            + config.bind() + ":" + config.gossipPort() + ", rpc " + rpcAddress + ", socket " + config.socket());
    }

    private LoadReport loadReport(String rpcAddress) {
        LoadSample s = supervisor.load();
        MemInfo m = MemInfo.read();
        return new LoadReport(config.name(), config.id(), rpcAddress, Version.VERSION,
            Runtime.getRuntime().availableProcessors(), s.load(), m.availableBytes(), m.totalBytes(),
            s.processes(), System.currentTimeMillis(), draining.on(), migration, s.busy());
    }

    /** Completes with the reason when the cluster refuses this node after it joined (see {@link MembershipListener#onRefused}). */
    public CompletableFuture<String> refused() {
        return refused;
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        LOG.info("stopping node " + config.name());
        quietly(() -> {
            if (balancer != null) {
                balancer.close();
            }
        });
        quietly(() -> {
            if (staleCopies != null) {
                staleCopies.close();
            }
            if (checkpointTimer != null) {
                checkpointTimer.close();
            }
            if (autoRestart != null) {
                autoRestart.close();
            }
        });
        quietly(() -> local.close());
        quietly(() -> files.close());
        quietly(() -> membership.close());
        quietly(() -> peers.close());
        quietly(() -> supervisor.close());
        quietly(() -> {
            grpc.shutdownNow().awaitTermination(2, TimeUnit.SECONDS);
            inProcess.shutdownNow();
        });
        quietly(() -> {
            lock.release();
            lockFile.close();
        });
    }

    private interface Step {
        void run() throws Exception;
    }

    private static void quietly(Step s) {
        try {
            s.run();
        } catch (Exception | LinkageError e) {
            LOG.fine("while stopping: " + e);
        }
    }
}

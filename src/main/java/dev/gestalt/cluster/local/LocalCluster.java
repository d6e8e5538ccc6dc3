package dev.gestalt.cluster.local;

import dev.gestalt.files.FilesConfig;
import dev.gestalt.format.Json;
import dev.gestalt.format.JsonReader;
import dev.gestalt.format.Table;
import dev.gestalt.node.NodeConfig;
import dev.gestalt.process.remote.RemoteStartPolicy;
import dev.gestalt.rpc.local.LocalClient;
import dev.gestalt.security.ClusterCa;
import dev.gestalt.security.NodeCredentials;
import dev.gestalt.security.PeerIdentity;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * {@code gestalt cluster up|down|status}: N real node daemons on this machine, each with its
 * own ports, state folder and credentials from one cluster CA. Started by root, each node runs
 * on a "host" of its own ({@link LocalHosts}: network and mount namespaces, an address of its
 * own) with the file space (MooseFS at /gestalt), and {@code up} returns once every node has
 * it mounted; started by a normal user, the nodes run on loopback without a file space.
 * Idempotent: {@code up} on a running cluster restarts the nodes that are down and leaves the
 * others alone.
 */
public final class LocalCluster {

    private final LocalLayout layout;
    private final PrintStream out;
    private final PrintStream err;

    public LocalCluster(Path home, String name, PrintStream out, PrintStream err) {
        this.layout = new LocalLayout(home, name);
        this.out = out;
        this.err = err;
    }

    public LocalLayout layout() {
        return layout;
    }

    /** How many nodes the cluster has on disk (0 if none yet). */
    public int size() {
        try (Stream<Path> s = Files.list(layout.dir())) {
            return (int) s.filter(p -> p.getFileName().toString().matches("node\\d+") && Files.exists(p.resolve("node.conf"))).count();
        } catch (IOException e) {
            return 0;
        }
    }

    public int up(Integer wanted, boolean quiet) throws Exception {
        int existing = size();
        int n = wanted != null ? wanted : existing > 0 ? existing : 3;
        if (n < existing) {
            err.println("gestalt cluster: cluster '" + layout.name() + "' has " + existing + " nodes; "
                + "run 'gestalt cluster down' and remove " + layout.dir() + " to make it smaller");
            return 2;
        }
        boolean root = "root".equals(System.getProperty("user.name"));
        Files.createDirectories(layout.dir());
        if (root) {
            Files.setPosixFilePermissions(layout.home(), PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        ClusterCa ca = ClusterCa.loadOrCreate(layout.ca());
        LocalHosts hosts = root && ownHosts(existing) ? new LocalHosts(layout) : null;
        for (int i = 1; i <= existing; i++) {
            refresh(ca, i);
        }
        for (int i = existing + 1; i <= n; i++) {
            create(ca, i, hosts);
        }
        if (hosts != null) {
            hosts.ensure(n);
        }
        List<LocalNode> nodes = new ArrayList<>();
        int started = 0;
        for (int i = 1; i <= n; i++) {
            LocalNode node = new LocalNode(layout, i);
            nodes.add(node);
            if (node.pid().isEmpty()) {
                node.start(hosts);
                started++;
            }
        }
        writePointer(nodes);
        var ready = new Readiness(layout, err);
        String failed = ready.awaitReady(nodes);
        if (failed != null) {
            err.println("gestalt cluster: " + failed);
            return 1;
        }
        if (hosts != null && !ready.awaitFiles(nodes)) {
            err.println("gestalt cluster: the file space was not mounted on every node within " + Readiness.FILES_MILLIS / 1000
                + " s; see 'gestalt fs status' and the logs in " + layout.dir() + "/node*/node.log");
            return 1;
        }
        if (!quiet) {
            out.println(started == 0 ? "Cluster '" + layout.name() + "' is already up (" + n + " nodes)."
                : "Cluster '" + layout.name() + "' is up: " + n + " nodes (" + started + " started).");
            out.println();
            out.print(LocalClient.call(nodes.getFirst().socket(), "nodes", List.of()).stdout());
            out.println();
            out.println("Try:");
            out.println("  gestalt run -- hostname                 # runs on the least-loaded node");
            out.println("  gestalt forall -- echo hello {} ::: a b c");
            out.println("  gestalt run -d -- sleep 300 && gestalt ps");
            out.println("  gestalt top --once");
            out.println("  gestalt cluster down                    # stops the daemons");
        }
        return 0;
    }

    /**
     * Creates node i's folder, credentials (from the cluster CA) and config, with free ports;
     * on its own host's address with the file space when {@code hosts} is given, else on loopback without.
     */
    private void create(ClusterCa ca, int i, LocalHosts hosts) throws Exception {
        Path dir = layout.node(i);
        Files.createDirectories(dir);
        ca.issueNode(LocalLayout.nodeName(i), i, List.of("127.0.0.1", "localhost"), dir.resolve("credentials"));
        int[] ports = freePorts(2);
        // one machine, one admin: root on one local node is root on all of them anyway
        var config = new NodeConfig(layout.name(), LocalLayout.nodeName(i), i, dir.resolve("state"), layout.socket(i),
            hosts != null ? hosts.address(i) : "127.0.0.1", ports[0], ports[1], List.of(), dir.resolve("credentials"),
            RemoteStartPolicy.parse("all"), hosts != null ? FilesConfig.moosefs(List.of()) : FilesConfig.none(),
            NodeConfig.DEFAULT_JOB_HISTORY);
        LocalNode.ownersOnly(layout.config(i));
        Files.writeString(layout.config(i), config.render());
        reseed();
    }

    /**
     * Brings an existing node's folder up to date: new credentials when its certificate expires
     * within {@link ClusterCa#RENEW_BEFORE} (or names no id: made before ids were bound), which a
     * running node uses from its next connection on; and {@code remote_uids = all} in a config
     * written before the key existed; its config the owner's alone (made 0644 before).
     */
    private void refresh(ClusterCa ca, int i) throws Exception {
        LocalNode.ownersOnly(layout.config(i));
        NodeConfig c = NodeConfig.load(layout.config(i));
        var creds = new NodeCredentials(c.credentials());
        boolean due = !creds.exists();
        if (!due) {
            PeerIdentity me = creds.identity();
            due = !me.hasId() || me.nodeId() != c.id() || !me.nodeName().equals(c.name())
                || creds.certificate().getNotAfter().toInstant().isBefore(Instant.now().plus(ClusterCa.RENEW_BEFORE));
        }
        if (due) {
            ca.issueNode(c.name(), c.id(), List.of("127.0.0.1", "localhost"), c.credentials());
            out.println("Renewed the credentials of " + c.name() + ".");
        }
        if (!Files.readString(layout.config(i)).contains("remote_uids")) {
            Files.writeString(layout.config(i), c.withRemoteUids(RemoteStartPolicy.parse("all")).render());
        }
    }

    /**
     * Whether a root cluster's nodes run on hosts of their own: decided when the cluster is
     * created (yes, unless GESTALT_LOCAL_HOSTS=0: loopback, no file space, as a normal user's),
     * then read back from node1's address.
     */
    private boolean ownHosts(int existing) throws IOException {
        if (existing == 0) {
            return !"0".equals(System.getenv("GESTALT_LOCAL_HOSTS"));
        }
        return !NodeConfig.load(layout.config(1)).bind().startsWith("127.");
    }

    /** Every node's config lists every node's gossip port as a seed, and every node in the file space's core. */
    private void reseed() throws IOException {
        List<NodeConfig> configs = new ArrayList<>();
        for (int i = 1; Files.exists(layout.config(i)); i++) {
            configs.add(NodeConfig.load(layout.config(i)));
        }
        List<InetSocketAddress> seeds = configs.stream().map(c -> new InetSocketAddress(c.bind(), c.gossipPort())).toList();
        List<String> names = configs.stream().map(NodeConfig::name).toList();
        for (int i = 0; i < configs.size(); i++) {
            NodeConfig c = configs.get(i);
            Files.writeString(layout.config(i + 1), c.withSeeds(seeds).withFiles(c.files().withCore(names)).render());
        }
    }

    private static int[] freePorts(int n) throws IOException {
        int[] ports = new int[n];
        List<ServerSocket> held = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress());
                held.add(s);
                ports[i] = s.getLocalPort();
            }
        } finally {
            for (ServerSocket s : held) {
                s.close();
            }
        }
        return ports;
    }

    private void writePointer(List<LocalNode> nodes) throws IOException {
        StringBuilder sb = new StringBuilder("# sockets of local cluster '" + layout.name() + "', written by 'gestalt cluster up'\n");
        for (LocalNode n : nodes) {
            sb.append(n.socket()).append('\n');
        }
        Files.writeString(layout.pointer(), sb.toString());
    }

    /**
     * Stops the cluster's daemons, which ends every job. Detached jobs still running are named
     * first, and without {@code force} the cluster is left up (exit 1): they would end with it.
     */
    public int down(boolean force) throws InterruptedException, IOException {
        int n = size();
        if (n == 0) {
            out.println("No local cluster '" + layout.name() + "'.");
            return 0;
        }
        List<Map<String, Object>> detached = detachedJobs(n);
        if (!detached.isEmpty()) {
            Table t = new Table("GPID", "NODE", "USER", "COMMAND");
            for (Map<String, Object> p : detached) {
                t.row(p.get("gpid"), p.get("node"), p.get("user"), p.get("command"));
            }
            (force ? out : err).print((force ? "Ending " : "gestalt cluster: these ") + detached.size()
                + " detached processes" + (force ? ":" : " would end with the cluster:") + "\n" + t);
            if (!force) {
                err.println("Stop them first, or run 'gestalt cluster down --force' to end them with the cluster.");
                return 1;
            }
        }
        int stopped = stopAll(n);
        if ("root".equals(System.getProperty("user.name")) && ownHosts(n)) {
            new LocalHosts(layout).remove(n);
        }
        out.println("Cluster '" + layout.name() + "' is down (" + stopped + " of " + n + " nodes were running).");
        return 0;
    }

    /**
     * Stops every node at once (each: SIGTERM, up to 30 s, then SIGKILL), so that the file space's
     * mounts are unmounted while its master still runs (one after another, the nodes after the
     * master's waited for a mount that could no longer reach it) and the whole takes as long as the
     * slowest node. Returns how many were running.
     */
    private int stopAll(int n) throws InterruptedException {
        List<Thread> stops = new ArrayList<>();
        AtomicInteger stopped = new AtomicInteger();
        for (int i = 1; i <= n; i++) {
            LocalNode node = new LocalNode(layout, i);
            stops.add(Thread.ofVirtual().name("stop-" + node.name()).start(() -> {
                try {
                    if (node.stop(30_000)) {
                        stopped.incrementAndGet();
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }));
        }
        for (Thread t : stops) {
            t.join();
        }
        return stopped.get();
    }

    /** The detached jobs still running, as a node that answers lists them (none when none answers). */
    private List<Map<String, Object>> detachedJobs(int n) {
        for (int i = 1; i <= n; i++) {
            LocalNode node = new LocalNode(layout, i);
            if (node.pid().isEmpty()) {
                continue;
            }
            try {
                var r = LocalClient.call(node.socket(), "ps", List.of("--json"));
                if (r.exitCode() != 0) {
                    continue;
                }
                List<Map<String, Object>> out = new ArrayList<>();
                for (Map<String, Object> p : JsonReader.rows(r.stdout())) {
                    if (Boolean.TRUE.equals(p.get("detached")) && !"exited".equals(p.get("state"))) {
                        out.add(p);
                    }
                }
                return out;
            } catch (IOException | IllegalArgumentException e) {
                // this node does not answer: ask the next
            }
        }
        return List.of();
    }

    public int status(boolean json) {
        int n = size();
        if (n == 0) {
            err.println("gestalt cluster: no local cluster '" + layout.name() + "' (start one with 'gestalt cluster up')");
            return 1;
        }
        List<Object> rows = new ArrayList<>();
        Table t = new Table("NAME", ">PID", "STATE", "SOCKET");
        for (int i = 1; i <= n; i++) {
            LocalNode node = new LocalNode(layout, i);
            String state = node.state();
            String pid = node.pid().map(String::valueOf).orElse("-");
            t.row(node.name(), pid, state, node.socket());
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", node.name());
            m.put("pid", node.pid().orElse(null));
            m.put("state", state);
            m.put("socket", node.socket().toString());
            rows.add(m);
        }
        out.print(json ? Json.write(rows) + "\n" : t.toString());
        return 0;
    }
}

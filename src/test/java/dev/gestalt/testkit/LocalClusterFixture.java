package dev.gestalt.testkit;

import dev.gestalt.os.Posix;
import dev.gestalt.os.Signals;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestExecutionExceptionHandler;

/**
 * A local Gestalt cluster of N real node daemons, started through the real
 * CLI ({@code ./gestalt cluster up --nodes N --name NAME}) in a fresh
 * temporary {@code GESTALT_HOME} with a unique cluster name, and always
 * brought down ({@code cluster down}, then SIGKILL for any daemon left).
 *
 * <p>As a JUnit extension:
 * <pre>
 * &#64;RegisterExtension static final LocalClusterFixture cluster = LocalClusterFixture.perClass(3);
 * &#64;RegisterExtension static final LocalClusterFixture cluster = LocalClusterFixture.shared(3);
 * </pre>
 * {@code perClass} starts a cluster before the class's tests and stops it after
 * them; {@code shared} starts one cluster of that size for every class that asks
 * for it, stopped at the end of the test run: only for tests that leave the
 * nodes as they found them. On its own: {@code try (var c = LocalClusterFixture.start(3)) {...}}.
 *
 * <p>Faults: {@link #kill9} (a crashed daemon), {@link #freeze} and {@link #thaw} (SIGSTOP, SIGCONT), {@link #stop} (a clean stop),
 * {@link #restart} ({@code cluster up} again: restarts the nodes that are down).
 * Node logs are copied to {@code target/e2e-logs/gst-NAME-.../} when the cluster stops; a test
 * that fails as an extension's test carries what the nodes logged during it (see {@link NodeLogs}).
 */
public final class LocalClusterFixture
        implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, TestExecutionExceptionHandler, AutoCloseable {

    /** How long {@code cluster up} may take on a slow machine (it waits up to 120 s for the daemons, then 60 s for the view). */
    public static final Duration UP_TIMEOUT = Duration.ofSeconds(200);

    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(LocalClusterFixture.class);

    private final int nodes;
    private final boolean shared;
    private final String prefix;
    private final String fixedName;
    /** The user the cluster's CLI, hence its daemons, run as (setpriv); null for this JVM's user. */
    private final String runAs;
    private Path home;
    private String name;
    private Thread shutdownHook;
    private boolean owner;
    private boolean loopback;

    private final NodeLogs logs;

    /** {@code -Dgestalt.*} properties for the daemons (JAVA_TOOL_OPTIONS of {@code cluster up}), or null. */
    private String daemonProperties;

    private LocalClusterFixture(int nodes, boolean shared, String prefix) {
        this(nodes, shared, prefix, null);
    }

    private LocalClusterFixture(int nodes, boolean shared, String prefix, String fixedName) {
        this(nodes, shared, prefix, fixedName, null);
    }

    private LocalClusterFixture(int nodes, boolean shared, String prefix, String fixedName, String runAs) {
        this.nodes = nodes;
        this.shared = shared;
        this.prefix = prefix;
        this.fixedName = fixedName;
        this.runAs = runAs;
        this.logs = new NodeLogs(nodes, this::log);
    }

    /**
     * A cluster for one test class whose nodes all run on loopback, even as root (no hosts of
     * their own, no file space: GESTALT_LOCAL_HOSTS=0), so that another cluster's daemon can
     * reach them.
     */
    public static LocalClusterFixture perClassOnLoopback(int nodes) {
        LocalClusterFixture f = new LocalClusterFixture(nodes, false, "e2e");
        f.loopback = true;
        return f;
    }

    /** As {@link #start(int)}, on loopback (see {@link #perClassOnLoopback}). */
    public static LocalClusterFixture startOnLoopback(int nodes) {
        return startOnLoopback(nodes, null);
    }

    /** As {@link #start(int, String)}, on loopback (see {@link #perClassOnLoopback}). */
    public static LocalClusterFixture startOnLoopback(int nodes, String name) {
        LocalClusterFixture f = new LocalClusterFixture(nodes, false, "e2e", name);
        f.loopback = true;
        f.up();
        return f;
    }

    /** A cluster for one test class. */
    public static LocalClusterFixture perClass(int nodes) {
        return new LocalClusterFixture(nodes, false, "e2e");
    }

    /** One cluster of this size shared by every class that registers it; stopped at the end of the run. */
    public static LocalClusterFixture shared(int nodes) {
        return new LocalClusterFixture(nodes, true, "shared");
    }

    /**
     * Starts a cluster on loopback (see {@link #perClassOnLoopback}) whose daemons run with these
     * {@code -Dgestalt.*} properties (faults the tests inject, as {@code gestalt.keeper.lateStatus});
     * close it when done.
     */
    public static LocalClusterFixture startOnLoopbackWith(int nodes, String... daemonProperties) {
        LocalClusterFixture f = new LocalClusterFixture(nodes, false, "e2e");
        f.loopback = true;
        f.daemonProperties = String.join(" ", daemonProperties);
        f.up();
        return f;
    }

    /** Starts a cluster now; close it when done. */
    public static LocalClusterFixture start(int nodes) {
        LocalClusterFixture f = new LocalClusterFixture(nodes, false, "e2e");
        f.up();
        return f;
    }

    /**
     * Starts a cluster with this name in its own home, hence with its own CA: with the
     * name of another running cluster, it is an impostor holding foreign credentials.
     */
    public static LocalClusterFixture start(int nodes, String name) {
        LocalClusterFixture f = new LocalClusterFixture(nodes, false, "e2e", name);
        f.up();
        return f;
    }

    /**
     * Starts a cluster as {@code user} (this JVM must be root): its home belongs to the user, and
     * its CLI ({@link #cli()}) and daemons run as the user, as a normal user's {@code cluster up} does.
     */
    public static LocalClusterFixture startAs(int nodes, String user) {
        LocalClusterFixture f = new LocalClusterFixture(nodes, false, "user", null, user);
        f.up();
        return f;
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        if (!shared) {
            up();
            return;
        }
        LocalClusterFixture real = context.getRoot().getStore(NAMESPACE).computeIfAbsent("shared-" + nodes, k -> {
            LocalClusterFixture f = new LocalClusterFixture(nodes, false, "shared");
            f.up();
            return f;
        }, LocalClusterFixture.class);
        this.home = real.home;
        this.name = real.name;
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        logs.mark();
    }

    /** A failing test's error carries what the nodes logged during it. */
    @Override
    public void handleTestExecutionException(ExtensionContext context, Throwable failure) throws Throwable {
        Throwable during = logs.sinceMark();
        if (during != null) {
            failure.addSuppressed(during);
        }
        throw failure;
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (!shared) {
            close();
        }
    }

    /** Creates the home and runs {@code cluster up}; on failure, brings down what started and fails. */
    public void up() {
        try {
            name = fixedName != null ? fixedName : prefix + "-" + Long.toString(ThreadLocalRandom.current().nextLong(1L << 30), 36);
            home = Files.createTempDirectory("gst-" + name + "-");
            // world-traversable, so tests may run the CLI as another user against this cluster's sockets
            Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwxr-xr-x"));
            if (runAs != null) {
                var chown = Procs.exec(30, "chown", runAs + ":", home.toString());
                if (chown.exitCode() != 0) {
                    throw new IOException("chown " + runAs + " " + home + ": " + chown.stderr());
                }
            }
            owner = true;
            shutdownHook = new Thread(this::down, "cluster-down-" + name);
            Runtime.getRuntime().addShutdownHook(shutdownHook);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        var r = clusterCommand("up", "--nodes", Integer.toString(nodes));
        if (r.exitCode() != 0) {
            String logs = logTails();
            close();
            throw new AssertionError("cluster up failed: " + r.describe() + "\n" + logs);
        }
    }

    /** {@code cluster up} again: restarts every node that is down and waits until all see each other. */
    public Cli.Result restart() {
        return clusterCommand("up");
    }

    private Cli.Result clusterCommand(String verb, String... more) {
        String[] args = Stream.concat(Stream.of("cluster", verb, "--name", name), Stream.of(more)).toArray(String[]::new);
        // in the C locale, as under systemd: the daemons must still pass non-ASCII argv byte-exact
        // the daemons inherit the CLI's environment: JAVA_TOOL_OPTIONS gives them the properties
        return cli().withEnv("LC_ALL", "C").withEnv("GESTALT_LOCAL_HOSTS", loopback ? "0" : null)
            .withEnv("JAVA_TOOL_OPTIONS", daemonProperties).call(args)
            .timeout(UP_TIMEOUT).run();
    }

    public int size() {
        return nodes;
    }

    public String name() {
        return name;
    }

    public Path home() {
        return home;
    }

    public Path dir() {
        return home.resolve("clusters").resolve(name);
    }

    public static String nodeName(int node) {
        return "node" + node;
    }

    public Path socket(int node) {
        return dir().resolve(nodeName(node)).resolve("node.sock");
    }

    public Path log(int node) {
        return dir().resolve(nodeName(node)).resolve("node.log");
    }

    public Path config(int node) {
        return dir().resolve(nodeName(node)).resolve("node.conf");
    }

    /** The daemon's pid from its pid file. */
    public long pid(int node) {
        try {
            return Long.parseLong(Files.readString(dir().resolve(nodeName(node)).resolve("node.pid")).trim());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The CLI of this cluster: GESTALT_HOME set, no GESTALT_NODE (the {@code current} pointer
     * picks a node); run as the cluster's user for a cluster started with {@link #startAs}.
     */
    public Cli cli() {
        Cli c = Cli.of(Cli.repoLauncher()).withEnv("GESTALT_HOME", home.toString());
        if (runAs == null) {
            return c;
        }
        return c.withEnv("HOME", home.toString()).withEnv("USER", runAs).withEnv("LOGNAME", runAs)
            .withPrefix("setpriv", "--reuid=" + runAs, "--regid=" + runAs, "--init-groups");
    }

    /** The CLI talking to one node (GESTALT_NODE = its socket): that node is the home node of what it runs. */
    public Cli cli(int node) {
        return cli().withEnv("GESTALT_NODE", socket(node).toString());
    }

    /**
     * Waits until every node's gossiped load is below {@code maxLoad} (the load decays within
     * seconds of the last busy task), so that a placement test starts from an idle cluster
     * instead of inheriting the previous test's load; and until the previous test's placements
     * no longer count as in flight.
     */
    public void awaitIdle(double maxLoad) {
        try {
            Thread.sleep(dev.gestalt.process.placement.InFlight.WINDOW_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Eventually.holds(Duration.ofSeconds(90), "every node's load below " + maxLoad, () -> {
            var r = cli(1).run("nodes", "--json");
            var rows = TinyJson.rows(r.out());
            return rows.size() == nodes && rows.stream().allMatch(m -> "up".equals(m.get("state"))
                && ((Number) m.get("load")).doubleValue() < maxLoad);
        });
    }

    /** Crashes a node: SIGKILL to its daemon, and waits until the process is gone. */
    public void kill9(int node) {
        long pid = pid(node);
        Procs.signal(pid, "KILL");
        Eventually.holds(Duration.ofSeconds(30), nodeName(node) + " (pid " + pid + ") dies after SIGKILL", () -> !Procs.alive(pid));
    }

    /** Freezes a node: SIGSTOP to its daemon (its sockets stay open; the kernel still accepts connections). */
    public void freeze(int node) {
        Procs.signal(pid(node), "STOP");
    }

    /** Resumes a node frozen by {@link #freeze}. */
    public void thaw(int node) {
        Procs.signal(pid(node), "CONT");
    }

    /**
     * Crashes a node's whole host: SIGKILL to every process in the daemon's network namespace
     * (root local clusters give each node one of its own): the daemon, its engines (MooseFS),
     * its jobs. Waits until they are all gone. Returns how many processes were killed.
     */
    public int killHost(int node) {
        long pid = pid(node);
        String netns = netns(pid);
        if (netns == null || netns.equals(netns(ProcessHandle.current().pid()))) {
            throw new IllegalStateException(nodeName(node) + " has no network namespace of its own (not a root cluster?)");
        }
        // A real host dies at once; here its processes are listed, then killed: one forked meanwhile
        // (a process CRIU is restoring there) would live on. So again until a listing finds none.
        java.util.Set<Long> victims = new java.util.LinkedHashSet<>();
        for (int round = 0; round < 50; round++) {
            List<Long> found = new ArrayList<>();
            try (var s = Files.list(Path.of("/proc"))) {
                s.map(p -> p.getFileName().toString()).filter(n -> n.chars().allMatch(Character::isDigit))
                    .map(Long::parseLong).filter(p -> netns.equals(netns(p))).forEach(found::add);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            if (found.isEmpty() && round > 0) {
                break;
            }
            victims.addAll(found);
            // SIGKILL; one that ended since it was listed (a short-lived helper: criu, a shell) is no failure
            found.forEach(p -> ProcessHandle.of(p).ifPresent(ProcessHandle::destroyForcibly));
            Eventually.holds(Duration.ofSeconds(30), "every process of " + nodeName(node) + "'s host dies after SIGKILL",
                () -> found.stream().noneMatch(Procs::alive));
        }
        return victims.size();
    }

    private static String netns(long pid) {
        try {
            return Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "ns", "net")).toString();
        } catch (IOException e) {
            return null;
        }
    }

    /** Stops a node cleanly: SIGTERM to its daemon, and waits until it has exited. */
    public void stop(int node) {
        long pid = pid(node);
        Procs.signal(pid, "TERM");
        Eventually.holds(Duration.ofSeconds(60), nodeName(node) + " (pid " + pid + ") stops after SIGTERM", () -> !Procs.alive(pid));
    }

    /** Brings the cluster down and removes its home (the node logs are kept under target/e2e-logs). */
    @Override
    public void close() {
        if (!owner) {
            return;
        }
        owner = false;
        down();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException e) {
            // the JVM is shutting down: the hook runs down() anyway
        }
    }

    private synchronized void down() {
        if (home == null || !Files.exists(home)) {
            return;
        }
        for (int i = 1; i <= nodes; i++) {
            try {
                // a frozen daemon would not act on cluster down's SIGTERM
                Posix.kill(pid(i), Signals.SIGCONT);
            } catch (RuntimeException e) {
                // no pid file, or gone
            }
        }
        try {
            cli().call("cluster", "down", "--force", "--name", name).timeout(Duration.ofSeconds(90)).run();
        } catch (AssertionError | RuntimeException e) {
            System.err.println("cluster down " + name + " failed: " + e.getMessage());
        }
        for (int i = 1; i <= nodes; i++) {
            try {
                long pid = pid(i);
                ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            } catch (RuntimeException e) {
                // no pid file: never started
            }
        }
        // a keeper whose daemon was killed and not restarted holds its jobs still: SIGTERM ends them
        for (long keeper : Procs.withCommandLine("--keeper " + dir())) {
            Procs.signal(keeper, "TERM");
        }
        keepLogs();
        deleteTree(home);
    }

    private void keepLogs() {
        logs.keep(Path.of(System.getProperty("gestalt.root", System.getProperty("user.dir")), "target", "e2e-logs",
            home.getFileName().toString()));
    }

    /** The last lines of every node's log, for failure messages. */
    public String logTails() {
        return logs.tails();
    }

    static void deleteTree(Path root) {
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    // a socket or file still in use: left in /tmp
                }
            });
        } catch (IOException e) {
            // already gone
        }
    }

    /** The environment a test adds for a CLI talking to this cluster. */
    public Map<String, String> env() {
        return Map.of("GESTALT_HOME", home.toString());
    }

    @Override
    public String toString() {
        return "LocalClusterFixture[" + name + ", " + nodes + " nodes, " + home + "]";
    }
}

package dev.gestalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.gestalt.os.TestUser;
import dev.gestalt.testkit.Cli;
import dev.gestalt.testkit.Eventually;
import dev.gestalt.testkit.LocalClusterFixture;
import dev.gestalt.testkit.TinyJson;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code ps}, {@code kill}, {@code wait --all}, {@code nodes} and {@code top}: tables with their
 * columns, JSON that parses, hundreds of jobs listed and killed in one command, a user's jobs
 * selected by {@code -u} and {@code --all}.
 */
@Tag("e2e")
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class QueriesIT {

    @RegisterExtension
    static final LocalClusterFixture cluster = LocalClusterFixture.shared(3);

    /** A detached sleep on node3, started from node1. */
    static String sleeper;

    private static Cli cli() {
        return cluster.cli(1);
    }

    @BeforeAll
    static void startSleeper() {
        var r = cli().run("run", "-d", "-n", "node3", "--", "sleep", "315");
        assertEquals(0, r.exitCode(), r::describe);
        sleeper = r.out().strip();
    }

    @AfterAll
    static void stopSleeper() {
        if (sleeper != null) {
            cli().run("kill", "-9", sleeper);
        }
    }

    private static Map<String, Object> row(List<Map<String, Object>> rows, String key, Object value) {
        return rows.stream().filter(m -> value.equals(m.get(key))).findFirst()
            .orElseThrow(() -> new AssertionError("no row with " + key + "=" + value + " in " + rows));
    }

    @Test
    void nodesJsonListsEveryNodeUp() {
        var r = cluster.cli(2).run("nodes", "--json");
        assertEquals(0, r.exitCode(), r::describe);
        var rows = TinyJson.rows(r.out());
        assertEquals(3, rows.size(), r.out());
        for (int i = 1; i <= 3; i++) {
            var n = row(rows, "name", "node" + i);
            assertEquals((long) i, n.get("id"));
            assertEquals("up", n.get("state"));
            for (String k : List.of("address", "cpus", "load", "mem_free_bytes", "processes", "version")) {
                assertTrue(n.containsKey(k), k + " in " + n);
            }
        }
    }

    @Test
    void nodesTableHasItsColumns() {
        var r = cli().run("nodes");
        assertEquals(0, r.exitCode(), r::describe);
        String header = r.out().lines().findFirst().orElse("");
        for (String c : List.of("NAME", "ID", "ADDRESS", "STATE", "CPUS", "LOAD", "FREE", "PROCS", "MIGRATE", "VERSION")) {
            assertTrue(header.contains(c), c + " in " + header);
        }
        assertEquals(4, r.out().lines().count(), r.out());
    }

    /**
     * A root node with CRIU 4.2 (scripts/install-deps installs it) says it can move its processes,
     * and how: stop-and-copy always, post-copy where the kernel has userfaultfd for other processes,
     * pre-copy where it tracks dirty memory (not on this machine's kernel: docs/PROC-DESIGN.md 5.4),
     * as CRIU itself answers here; every node sees it in every other's report.
     */
    /** Whether this (root) test runs with CAP_SYS_RESOURCE, as the daemons it starts do (a container may drop it). */
    static boolean capSysResource() {
        try {
            for (String l : java.nio.file.Files.readAllLines(Path.of("/proc/self/status"))) {
                if (l.startsWith("CapEff:")) {
                    return (Long.parseUnsignedLong(l.substring(7).strip(), 16) >>> 24 & 1) == 1;
                }
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        throw new AssertionError("no CapEff in /proc/self/status");
    }

    @Test
    void everyRootNodeWithCriuSaysItCanMoveProcessesAndHow() {
        String criu = "/opt/gestalt/bin/criu";
        assertTrue(java.nio.file.Files.isExecutable(Path.of(criu)), "scripts/install-deps installs " + criu);
        String expected = (dev.gestalt.testkit.Procs.exec(30, criu, "check", "--feature", "uffd-noncoop").exitCode() == 0
                ? "post-copy, " : "")
            + (dev.gestalt.testkit.Procs.exec(30, criu, "check", "--feature", "mem_dirty_track").exitCode() == 0 ? "pre-copy, " : "")
            + "stop-and-copy"
            + (capSysResource() ? "" : "; root's processes only (no CAP_SYS_RESOURCE)");
        Eventually.holds(Duration.ofSeconds(30), "every node has checked", () -> {
            var r = cluster.cli(1).run("nodes", "--json");
            return r.exitCode() == 0 && !r.out().contains("not checked yet");
        });
        for (int from = 1; from <= 3; from++) {
            var r = cluster.cli(from).run("nodes", "--json");
            assertEquals(0, r.exitCode(), r::describe);
            List<Map<String, Object>> rows = TinyJson.rows(r.out());
            assertEquals(3, rows.size(), r.out());
            for (Map<String, Object> n : rows) {
                assertEquals(Boolean.TRUE, n.get("migratable"), n::toString);
                assertEquals(expected, n.get("migration"), n::toString);
            }
            var table = cluster.cli(from).run("nodes");
            assertTrue(table.out().lines().skip(1).allMatch(l -> l.matches(".*\\byes\\b.*")), table::describe);
            assertFalse(table.out().contains("cannot move"), table::describe);
        }
    }

    @Test
    void psShowsTheProcessWithItsColumns() {
        var r = cluster.cli(2).run("ps");
        assertEquals(0, r.exitCode(), r::describe);
        List<String> lines = r.out().lines().toList();
        for (String c : List.of("GPID", "NODE", "USER", "STATE", "%CPU", "RSS", "TIME", "START", "COMMAND")) {
            assertTrue(lines.getFirst().contains(c), c + " in " + lines.getFirst());
        }
        assertTrue(lines.stream().anyMatch(l -> l.matches(sleeper + "\\s+node3\\s+root\\s+.*sleep 315")), r.out());
    }

    @Test
    void psJsonParsesAndFilters() {
        var r = cli().run("ps", "--json");
        assertEquals(0, r.exitCode(), r::describe);
        var p = row(TinyJson.rows(r.out()), "gpid", sleeper);
        assertEquals("node3", p.get("node"));
        assertEquals("root", p.get("user"));
        assertEquals("sleep 315", p.get("command"));
        for (String k : List.of("state", "cpu_percent", "rss_bytes", "start", "pid")) {
            assertTrue(p.containsKey(k), k + " in " + p);
        }
        // a row of its own: "1-5" must not match "1-53" of another test's job on the shared cluster
        var row = java.util.regex.Pattern.compile("(?m)^" + java.util.regex.Pattern.quote(sleeper) + "\\s");
        assertTrue(row.matcher(cli().run("ps", "-n", "node3").out()).find());
        assertFalse(row.matcher(cli().run("ps", "-n", "node1").out()).find());
        assertTrue(row.matcher(cli().run("ps", "-u", "root").out()).find());
    }

    @Test
    void aCommandLineWithNewlinesStaysOnOneRow() {
        var r = cli().run("run", "-d", "-n", "node2", "--", "sh", "-c", "sleep 316\n#two\tlines");
        assertEquals(0, r.exitCode(), r::describe);
        String gpid = r.out().strip();
        try {
            var ps = cli().run("ps", "-n", "node2");
            assertTrue(ps.out().lines().anyMatch(l -> l.startsWith(gpid) && l.endsWith("sh -c sleep 316?#two?lines")), ps.out());
            var json = cli().run("ps", "--json");
            assertEquals("sh -c sleep 316\n#two\tlines", row(TinyJson.rows(json.out()), "gpid", gpid).get("command"),
                "JSON keeps the bytes");
        } finally {
            cli().run("kill", "-9", gpid);
        }
    }

    @Test
    void psEveryListsNodePidRows() {
        var r = cli().run("ps", "-e");
        assertEquals(0, r.exitCode(), r::describe);
        List<String> rows = r.out().lines().skip(1).toList();
        assertFalse(rows.isEmpty());
        assertTrue(rows.stream().allMatch(l -> l.matches("node[123]:\\d+\\s.*")), "every row is NODE:PID: " + r.out());
        assertTrue(rows.stream().anyMatch(l -> l.endsWith("sleep 315")), r.out());
        var json = cli().run("ps", "-e", "--json");
        assertEquals(0, json.exitCode(), json::describe);
        assertFalse(TinyJson.rows(json.out()).isEmpty());
    }

    @Test
    void killByGpidAndByNodePid() {
        var a = cli().run("run", "-d", "-n", "node2", "--", "sleep", "321");
        var b = cli().run("run", "-d", "-n", "node2", "--", "sleep", "322");
        String ga = a.out().strip();
        String gb = b.out().strip();
        var term = cluster.cli(3).run("kill", ga);
        assertEquals(0, term.exitCode(), term::describe);
        assertEquals(143, cli().run("wait", ga).exitCode());

        var ps = cli().run("ps", "--json");
        Object pid = row(TinyJson.rows(ps.out()), "gpid", gb).get("pid");
        var kill = cluster.cli(3).run("kill", "-s", "KILL", "node2:" + pid);
        assertEquals(0, kill.exitCode(), kill::describe);
        assertEquals(137, cli().run("wait", gb).exitCode());
    }

    @Test
    void topOnceShowsNodesAndProcesses() {
        var r = cli().run("top", "--once");
        assertEquals(0, r.exitCode(), r::describe);
        for (String s : List.of("NODE", "node1", "node2", "node3", "GPID", sleeper)) {
            assertTrue(r.out().contains(s), s + " in\n" + r.out());
        }
    }

    /** Rows of {@code ps --json} whose command is {@code command}. */
    private static List<Map<String, Object>> rowsRunning(Cli cli, String command) {
        var r = cli.run("ps", "--json");
        assertEquals(0, r.exitCode(), r::describe);
        assertEquals("", r.stderr(), "every node answered: " + r.describe());
        return TinyJson.rows(r.out()).stream()
            .filter(m -> command.equals(m.get("command")) && !"exited".equals(m.get("state"))).toList();
    }

    /**
     * Issue 8, item 5: with 200 running jobs ps printed an empty table (every node "did not
     * answer") and kill of their GPIDs took minutes. Correctness only, no timing: every job is
     * listed with its node, one kill ends them all, each ends by its signal.
     */
    @Test
    void hundredsOfJobsAreListedAndKilledInOneCommand() {
        int n = 240;
        List<String> cmd = new ArrayList<>(List.of("forall", "-j", Integer.toString(n), "--", "sleep", "611", ":::"));
        IntStream.rangeClosed(1, n).forEach(i -> cmd.add(Integer.toString(i)));
        var forall = cli().withTimeout(Duration.ofMinutes(3)).start(cmd.toArray(String[]::new));
        try {
            // the argument is appended: each task is "sleep 611 I"
            List<Map<String, Object>> rows = Eventually.value(Duration.ofSeconds(90), n + " tasks running", () -> {
                var r = cluster.cli(2).run("ps", "--json");
                var mine = TinyJson.rows(r.out()).stream()
                    .filter(m -> String.valueOf(m.get("command")).startsWith("sleep 611 ")).toList();
                return r.exitCode() == 0 && r.stderr().isEmpty() && mine.size() == n ? mine : null;
            });
            Set<Object> gpids = new HashSet<>();
            Set<Object> args = new HashSet<>();
            for (var m : rows) {
                assertTrue(Set.of("node1", "node2", "node3").contains(m.get("node")), m.toString());
                assertEquals("root", m.get("user"), m.toString());
                gpids.add(m.get("gpid"));
                args.add(m.get("command"));
            }
            assertEquals(n, gpids.size(), "distinct GPIDs");
            assertEquals(n, args.size(), "every task listed once");
            var table = cluster.cli(3).run("ps");
            assertEquals(0, table.exitCode(), table::describe);
            assertEquals(n, table.out().lines().filter(l -> l.contains("sleep 611 ")).count(), table::describe);

            List<String> kill = new ArrayList<>(List.of("kill"));
            gpids.forEach(g -> kill.add((String) g));
            var k = cluster.cli(3).run(kill.toArray(String[]::new));
            assertEquals(0, k.exitCode(), k::describe);
            assertEquals("", k.stderr());
            var r = forall.await(Duration.ofSeconds(90));
            assertEquals(101, r.exitCode(), "every task failed (SIGTERM), more than 100: " + r.describe());
            assertTrue(rowsRunning(cli(), "sleep 611").isEmpty());
        } finally {
            if (forall.isAlive()) {
                forall.signal("INT");
            }
        }
    }

    @Test
    void killOfAnEndedJobSaysProcessHasExited() {
        var r = cli().run("run", "-d", "-n", "node2", "--", "sh", "-c", "exit 3");
        assertEquals(0, r.exitCode(), r::describe);
        String gpid = r.out().strip();
        assertEquals(3, cli().run("wait", gpid).exitCode());
        var k = cluster.cli(3).run("kill", gpid);
        assertEquals(1, k.exitCode(), k::describe);
        assertEquals("gestalt kill: " + gpid + ": process has exited\n", k.stderr());
        var unknown = cli().run("kill", "2-999999999");
        assertEquals(1, unknown.exitCode(), unknown::describe);
        assertEquals("gestalt kill: 2-999999999: no such process\n", unknown.stderr());
    }

    @Test
    void psOfAnUnknownNodeIsAnError() {
        var r = cli().run("ps", "-n", "NOSUCH");
        assertEquals(1, r.exitCode(), r::describe);
        assertEquals("", r.out());
        assertEquals(1, r.stderr().lines().count(), r::describe);
        assertTrue(r.stderr().contains("NOSUCH"), r::describe);
        var byId = cli().run("ps", "-n", "3");
        assertEquals(0, byId.exitCode(), byId::describe);
        assertTrue(byId.out().contains(sleeper), "a node by its id: " + byId.describe());
    }

    /** kill -u USER, kill --all and wait --all select the caller's own jobs; only root names another user. */
    @Test
    void killAndWaitByUser() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "a second user needs root");
        try (TestUser user = TestUser.create()) {
            Cli asUser = cli().withCwd(Path.of("/tmp")).withEnv("HOME", "/tmp").withEnv("USER", user.name)
                .withEnv("LOGNAME", user.name)
                .withPrefix("setpriv", "--reuid=" + user.info.uid(), "--regid=" + user.info.gid(), "--init-groups");
            List<String> jobs = new ArrayList<>();
            for (int i = 1; i <= 3; i++) {
                var r = asUser.run("run", "-d", "-n", "node" + i, "--", "sleep", "612");
                assertEquals(0, r.exitCode(), r::describe);
                jobs.add(r.out().strip());
            }
            var waitAll = asUser.start("wait", "--all");
            var denied = asUser.run("kill", "-u", "root");
            assertEquals(1, denied.exitCode(), denied::describe);
            assertTrue(denied.stderr().contains("permission denied"), denied::describe);

            var all = asUser.run("kill", "--all");
            assertEquals(0, all.exitCode(), all::describe);
            assertEquals(0, waitAll.await(Duration.ofSeconds(60)).exitCode(), "wait --all ends when all have ended");
            for (String g : jobs) {
                assertEquals(143, asUser.run("wait", g).exitCode(), g);
            }
            assertTrue(cli().run("ps", "-n", "node3").out().contains(sleeper), "root's job is not the user's: it runs on");

            var again = asUser.run("run", "-d", "--", "sleep", "613");
            assertEquals(0, again.exitCode(), again::describe);
            var byRoot = cluster.cli(2).run("kill", "-9", "-u", user.name);
            assertEquals(0, byRoot.exitCode(), byRoot::describe);
            assertEquals(137, asUser.run("wait", again.out().strip()).exitCode());
            assertEquals(0, asUser.run("wait", "--all").exitCode(), "nothing left to wait for");
        }
    }

    /**
     * A GPID is found through its home node's record; when the home node is down, a listing of
     * the cluster finds it instead: its process runs on, and kill and wait still reach it.
     */
    @Test
    void aJobWhoseHomeNodeIsDownIsStillFound() {
        try (var two = LocalClusterFixture.start(2)) {
            var r = two.cli(1).run("run", "-d", "-n", "node2", "--", "sleep", "614");
            assertEquals(0, r.exitCode(), r::describe);
            String gpid = r.out().strip();
            assertTrue(gpid.startsWith("1-"), "node1 is its home: " + gpid);
            two.kill9(1);
            Eventually.holds(Duration.ofSeconds(30), "node2 sees node1 go", () -> TinyJson.rows(two.cli(2).run("nodes", "--json").out())
                .stream().noneMatch(m -> "node1".equals(m.get("name")) && "up".equals(m.get("state"))));
            assertTrue(two.cli(2).run("ps").out().contains(gpid));
            var k = two.cli(2).run("kill", gpid);
            assertEquals(0, k.exitCode(), k::describe);
            assertEquals(143, two.cli(2).run("wait", gpid).exitCode());
        }
    }
}

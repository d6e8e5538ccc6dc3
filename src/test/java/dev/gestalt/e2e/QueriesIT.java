package dev.gestalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gestalt.testkit.Cli;
import dev.gestalt.testkit.LocalClusterFixture;
import dev.gestalt.testkit.TinyJson;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@code ps}, {@code kill}, {@code nodes} and {@code top}: tables with their columns, JSON that parses. */
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
        for (String c : List.of("NAME", "ID", "ADDRESS", "STATE", "CPUS", "LOAD", "FREE", "PROCS", "VERSION")) {
            assertTrue(header.contains(c), c + " in " + header);
        }
        assertEquals(4, r.out().lines().count(), r.out());
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
        assertTrue(cli().run("ps", "-n", "node3").out().contains(sleeper));
        assertFalse(cli().run("ps", "-n", "node1").out().contains(sleeper));
        assertTrue(cli().run("ps", "-u", "root").out().contains(sleeper));
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
}

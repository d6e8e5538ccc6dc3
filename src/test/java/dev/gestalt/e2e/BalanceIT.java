package dev.gestalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.gestalt.testkit.Cli;
import dev.gestalt.testkit.Eventually;
import dev.gestalt.testkit.LocalClusterFixture;
import dev.gestalt.testkit.TinyJson;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.parallel.ResourceLock;

/**
 * Automatic load balancing: busy processes all on node1 (node2 and node3 were drained while they
 * started) spread over the three nodes by themselves once those come back, and then stay put (no
 * ping-pong); a process placed on node1 by name is never moved; every move is in the events with
 * its reason.
 */
@Tag("e2e")
@Timeout(value = 6, unit = TimeUnit.MINUTES)
@Execution(ExecutionMode.CONCURRENT) // beside the other classes, on a cluster of its own (pom.xml: failsafe)
@ResourceLock("FrozenNodeIT") // its busy processes would slow that one's merges
class BalanceIT {

    @RegisterExtension
    static final LocalClusterFixture cluster = LocalClusterFixture.perClass(3);

    /** About a quarter of a CPU, until killed. */
    private static final String BUSY = "import time\nwhile True:\n    t = time.time()\n"
        + "    while time.time() - t < 0.025: pass\n    time.sleep(0.075)";

    @BeforeAll
    static void root() {
        assumeTrue("root".equals(System.getProperty("user.name")), "processes move only when the daemons run as root");
    }

    private static Cli cli(int node) {
        return cluster.cli(node).withCwd(Path.of("/tmp"));
    }

    private static List<Map<String, Object>> running() {
        var ps = cli(1).run("ps", "--json");
        assertEquals(0, ps.exitCode(), ps::describe);
        return TinyJson.rows(ps.out()).stream().filter(p -> !"exited".equals(p.get("state"))).toList();
    }

    /** How many running processes each node has, by name. */
    private static Map<String, Integer> spread() {
        Map<String, Integer> out = new TreeMap<>();
        for (var p : running()) {
            out.merge((String) p.get("node"), 1, Integer::sum);
        }
        return out;
    }

    private static int moves() {
        return running().stream().mapToInt(p -> ((Number) p.get("moves")).intValue()).sum();
    }

    @Test
    void busyProcessesOnOneNodeSpreadOverAllAndStayPut() {
        for (String n : List.of("node2", "node3")) {
            var d = cli(1).run("drain", n);
            assertEquals(0, d.exitCode(), d::describe);
        }
        Eventually.holds(Duration.ofSeconds(15), "node1 sees both drained", () -> TinyJson.rows(cli(1).run("nodes", "--json").out())
            .stream().filter(n -> "draining".equals(n.get("state"))).count() == 2);
        List<String> gpids = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            var r = cli(1 + i % 3).run("run", "-d", "--", "python3", "-c", BUSY);
            assertEquals(0, r.exitCode(), r::describe);
            gpids.add(r.out().strip());
        }
        var pinned = cli(1).run("run", "-d", "-n", "node1", "--", "python3", "-c", BUSY);
        assertEquals(0, pinned.exitCode(), pinned::describe);
        assertEquals(Map.of("node1", 7), spread(), "placement had only node1");

        for (String n : List.of("node2", "node3")) {
            var u = cli(1).run("undrain", n);
            assertEquals(0, u.exitCode(), u::describe);
        }
        // 7 busy: node1 keeps the pinned one and two more; a fourth there and one fewer elsewhere would be no better
        Eventually.holds(Duration.ofSeconds(120), "spread 3/2/2 by the balancer", () -> {
            var s = spread();
            System.out.println("BalanceIT: " + s);
            return s.equals(Map.of("node1", 3, "node2", 2, "node3", 2));
        });
        int moved = moves();
        assertEquals(4, moved, "four moves, no more");
        Eventually.stays(Duration.ofSeconds(15), "no ping-pong", () -> moves() == moved
            && spread().equals(Map.of("node1", 3, "node2", 2, "node3", 2)));
        String pinnedGpid = pinned.out().strip();
        var row = running().stream().filter(p -> pinnedGpid.equals(p.get("gpid"))).findFirst().orElseThrow();
        assertEquals("node1", row.get("node"), "placed by name: never moved automatically");
        assertEquals(0, ((Number) row.get("moves")).intValue());

        var events = TinyJson.rows(cli(2).run("events", "--json").out()).stream()
            .filter(e -> "moved".equals(e.get("event"))).toList();
        assertEquals(4, events.size(), events::toString);
        assertTrue(events.stream().allMatch(e -> String.valueOf(e.get("detail"))
            .matches("node1 -> node[23]: downtime \\d+ ms, .* \\(balance: node1 had \\d busy jobs on \\d+ CPUs, node[23] \\d on \\d+\\)")),
            events::toString);

        gpids.add(pinnedGpid);
        var kill = cli(3).run(java.util.stream.Stream.concat(java.util.stream.Stream.of("kill", "-9"), gpids.stream())
            .toArray(String[]::new));
        assertEquals(0, kill.exitCode(), kill::describe);
    }
}

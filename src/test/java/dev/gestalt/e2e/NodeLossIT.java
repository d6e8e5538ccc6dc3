package dev.gestalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gestalt.testkit.Cli;
import dev.gestalt.testkit.Eventually;
import dev.gestalt.testkit.LocalClusterFixture;
import dev.gestalt.testkit.Procs;
import dev.gestalt.testkit.TinyJson;
import dev.gestalt.testkit.ViewLog;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.parallel.ResourceLock;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The first fault: kill -9 one daemon of a 3-node cluster while
 * {@code run} and {@code forall} clients (home node1) are attached to
 * processes on it. One scenario, in the order a user would live it.
 */
@Tag("e2e")
@Execution(ExecutionMode.CONCURRENT) // beside the other classes, on a cluster of its own (pom.xml: failsafe)
@ResourceLock("NodeLossIT") // its own tests one after another
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class NodeLossIT {

    @RegisterExtension
    static final LocalClusterFixture cluster = LocalClusterFixture.perClass(3);

    /**
     * The claim: a crashed node leaves the view within 10 s, and every stream to it ends then (a
     * kill -9 closes its sockets, so usually at once). 2 s more for a loaded machine.
     */
    private static final Duration LOST_WITHIN = Duration.ofSeconds(12);

    private static Cli home() {
        return cluster.cli(1);
    }

    @AfterAll
    static void noLeftovers() {
        for (String pattern : List.of("^sleep 316$", "^sleep 30\\.[1-9]$", "^sleep 31\\.[1-9]$")) {
            Procs.pgrep(pattern).forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
        }
    }

    private static List<Map<String, Object>> ps() {
        var r = home().run("ps", "--json");
        assertEquals(0, r.exitCode(), r::describe);
        return TinyJson.rows(r.out());
    }

    private static long onNode(List<Map<String, Object>> ps, String node, String commandRegex) {
        return ps.stream().filter(m -> node.equals(m.get("node")) && String.valueOf(m.get("command")).matches(commandRegex)
            && !"exited".equals(m.get("state"))).count();
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void aCrashedNodeIsDetectedItsClientsEndAndItRejoins() {
        cluster.awaitIdle(0.3);
        var run = home().start("run", "-n", "node3", "--", "sh", "-c", "echo ready; exec sleep 316");
        String[] nine = {":::", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
        var retried = home().start(concat(new String[] {"forall", "-j", "9", "--retries", "2", "--", "sleep", "30.{}"}, nine));
        var plain = home().start(concat(new String[] {"forall", "-j", "9", "--", "sleep", "31.{}"}, nine));
        Eventually.holds(Duration.ofSeconds(60), "the run and the 18 forall tasks are running", () -> {
            var ps = ps();
            long all = 0;
            for (String n : List.of("node1", "node2", "node3")) {
                all += onNode(ps, n, "sleep 30\\.[1-9]") + onNode(ps, n, "sleep 31\\.[1-9]");
            }
            return onNode(ps, "node3", ".*sleep 316") == 1 && all == 18;
        });
        var before = ps();
        assertTrue(onNode(before, "node3", "sleep 30\\.[1-9]") > 0 && onNode(before, "node3", "sleep 31\\.[1-9]") > 0,
            "each forall has tasks on node3 (placement spreads 9 tasks over 3 nodes): " + before);
        long plainOnNode3 = onNode(before, "node3", "sleep 31\\.[1-9]");

        long mark = ViewLog.mark(cluster.log(1));
        Instant killedAt = Instant.now();
        cluster.kill9(3);

        var lost = run.await(LOST_WITHIN.minus(Duration.between(killedAt, Instant.now())));
        long seconds = Duration.between(killedAt, Instant.now()).toSeconds();
        assertEquals(255, lost.exitCode(), lost::describe);
        assertTrue(lost.stderr().contains("node node3 lost"), lost::describe);
        assertEquals(1, lost.stderr().lines().count(), "one line: " + lost.stderr());
        System.out.println("NodeLossIT: run client ended " + seconds + " s after node3 was killed; node3's sleeps still running: "
            + Procs.pgrep("^sleep 316$") + " " + Procs.pgrep("^sleep 3[01]\\.[1-9]$"));

        Eventually.holds(LOST_WITHIN, "node1 drops node3", () -> !ViewLog.last(cluster.log(1), mark).isEmpty());
        var dropped = ViewLog.since(cluster.log(1), mark).getFirst();
        assertEquals(java.util.Set.of("node3"), dropped.left(), dropped.toString());
        assertTrue(Duration.between(killedAt, dropped.at()).compareTo(LOST_WITHIN) <= 0,
            "node3 left node1's view " + Duration.between(killedAt, dropped.at()) + " after the kill");
        Eventually.holds(Duration.ofSeconds(15), "nodes shows node3 down", () -> {
            var r = home().run("nodes", "--json");
            return r.exitCode() == 0 && TinyJson.rows(r.out()).stream()
                .anyMatch(m -> "node3".equals(m.get("name")) && !"up".equals(m.get("state")));
        });
        var nodesTable = cluster.cli(2).run("nodes");
        assertEquals(0, nodesTable.exitCode(), nodesTable::describe);
        assertTrue(nodesTable.out().lines().anyMatch(l -> l.startsWith("node3") && !l.contains(" up ")), nodesTable::describe);
        var ps = cluster.cli(2).call("ps").timeout(Duration.ofSeconds(20)).run();
        assertEquals(0, ps.exitCode(), ps::describe);

        var plainResult = plain.await(Duration.ofSeconds(120));
        assertEquals(plainOnNode3, plainResult.exitCode(), "forall without retries: one failure per task on node3: "
            + plainResult.describe());
        assertTrue(plainResult.stderr().contains("node node3 lost"), plainResult::describe);

        var retriedResult = retried.await(Duration.ofSeconds(180));
        assertEquals(0, retriedResult.exitCode(), "forall --retries 2 (two runs in all, as GNU parallel counts) reruns node3's tasks elsewhere: " + retriedResult.describe());

        List<String> gpids = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            var r = home().run("run", "--explain", "-d", "--", "sleep", "316");
            assertEquals(0, r.exitCode(), r::describe);
            assertTrue(!r.stderr().contains("placed on node3"), "nothing is placed on a dead node: " + r.stderr());
            gpids.add(r.out().strip());
        }
        assertEquals(0, onNode(ps(), "node3", ".*sleep 316"));
        var pinned = home().run("run", "-n", "node3", "--", "true");
        assertEquals(255, pinned.exitCode(), pinned::describe);
        assertTrue(pinned.stderr().contains("node3"), pinned::describe);
        List<String> kill = new ArrayList<>(List.of("kill", "-9"));
        kill.addAll(gpids);
        home().run(kill.toArray(String[]::new));

        var up = cluster.restart();
        assertEquals(0, up.exitCode(), up::describe);
        var nodes = TinyJson.rows(home().run("nodes", "--json").out());
        var node3 = nodes.stream().filter(m -> "node3".equals(m.get("name"))).findFirst().orElseThrow();
        assertEquals("up", node3.get("state"));
        assertEquals(3L, node3.get("id"), "node3 rejoins with the same id");
        var back = home().run("run", "-n", "node3", "--", "echo", "back");
        assertEquals(0, back.exitCode(), back::describe);
        assertEquals("back\n", back.out());
        var gpid = cluster.cli(3).run("run", "-d", "--", "true").out().strip();
        assertTrue(gpid.startsWith("3-"), "GPIDs allocated by the restarted node3 still start with its id 3: " + gpid);
        assertNotEquals("", gpid);
    }
}

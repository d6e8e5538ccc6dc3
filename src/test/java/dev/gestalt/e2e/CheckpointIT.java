package dev.gestalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gestalt.testkit.Eventually;
import dev.gestalt.testkit.LocalClusterFixture;
import dev.gestalt.testkit.Procs;
import dev.gestalt.testkit.TinyJson;
import dev.gestalt.testkit.ViewLog;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Checkpoint/restart (issue 9 item 5), real CRIU, real file space: a checkpoint taken on one
 * node restarts on another with the process's GPID, memory and log as they were then; the
 * sealed file holds none of the process's memory in clear; what cannot be done says so.
 */
@Tag("e2e")
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class CheckpointIT {

    @RegisterExtension
    static final LocalClusterFixture cluster = LocalClusterFixture.shared(3);

    /** A detached counter on node1 that holds a token built in memory (not in its argv). */
    private static String counter() {
        var r = cluster.cli(1).run("run", "-d", "-n", "node1", "--", "python3", "-c",
            "import time\ntoken = 'CKPT-' + 'q7x' * 8\ni = 0\nwhile True:\n    print(i, flush=True); i += 1; time.sleep(0.05)");
        assertEquals(0, r.exitCode(), r::describe);
        return r.out().strip();
    }

    private static List<Integer> numbers(String gpid) {
        return cluster.cli(1).run("logs", gpid).out().lines().map(Integer::parseInt).toList();
    }

    private static Map<String, Object> listed(String name) {
        var r = cluster.cli(3).run("checkpoints", "--json");
        assertEquals(0, r.exitCode(), r::describe);
        return TinyJson.rows(r.out()).stream().filter(m -> name.equals(m.get("name"))).findFirst().orElse(null);
    }

    private static Map<String, Object> psRow(String gpid) {
        return TinyJson.rows(cluster.cli(1).run("ps", "--json").out()).stream().filter(m -> gpid.equals(m.get("gpid")))
            .findFirst().orElseThrow(() -> new AssertionError(gpid + " not in ps"));
    }

    @Test
    void aCheckpointRestartsOnAnotherNodeWithItsGpidMemoryAndLog() {
        String gpid = counter();
        Eventually.holds(Duration.ofSeconds(30), "it counts", () -> numbers(gpid).size() > 20);
        var kept = cluster.cli(2).run("checkpoint", "--leave-running", gpid);
        assertEquals(0, kept.exitCode(), kept::describe);
        String running = kept.out().strip();
        assertEquals(gpid + ".1", running);
        int atFirst = numbers(gpid).size();
        Eventually.holds(Duration.ofSeconds(30), "it runs on", () -> numbers(gpid).size() > atFirst + 20);
        Map<String, Object> row = listed(running);
        assertEquals(gpid, row.get("gpid"));
        assertEquals("node1", row.get("node"));
        assertEquals(Boolean.FALSE, row.get("stopped"));

        var stopped = cluster.cli(1).run("checkpoint", gpid);
        assertEquals(0, stopped.exitCode(), stopped::describe);
        String last = stopped.out().strip();
        assertEquals(gpid + ".2", last);
        assertEquals(137, cluster.cli(3).run("wait", gpid).exitCode(), "stopped by its checkpoint");
        int atStop = numbers(gpid).size();

        var again = cluster.cli(3).run("restart", "-n", "node3", last);
        assertEquals(0, again.exitCode(), again::describe);
        assertEquals(gpid, again.out().strip());
        assertEquals("node3", psRow(gpid).get("node"));
        Eventually.holds(Duration.ofSeconds(30), "it counts on from where it was", () -> numbers(gpid).size() > atStop + 20);
        List<Integer> seen = numbers(gpid);
        for (int i = 0; i < seen.size(); i++) {
            assertEquals(i, seen.get(i), "its log: every number once, in order, across the stop and the restart");
        }
        assertEquals(1, TinyJson.rows(cluster.cli(2).run("ps", "--json").out()).stream()
            .filter(m -> gpid.equals(m.get("gpid"))).count(), "one row: its ended run on node1 is history");

        var twice = cluster.cli(2).run("restart", running);
        assertEquals(1, twice.exitCode(), twice::describe);
        assertTrue(twice.stderr().contains(gpid + " runs on node3"), twice::describe);

        // the sealed files, on the chunkservers' disks, hold nothing of its memory in clear
        var clear = Procs.exec(60, "grep", "-rl", "CKPT-q7xq7xq7x", cluster.dir().toString());
        assertEquals("", clear.stdout(), "a checkpoint is encrypted at rest");

        assertEquals(0, cluster.cli(1).run("kill", gpid).exitCode());
        assertEquals(143, cluster.cli(1).run("wait", gpid).exitCode(), "killed where it runs again");
        var rm = cluster.cli(2).run("checkpoints", "rm", running, last);
        assertEquals(0, rm.exitCode(), rm::describe);
        assertEquals(null, listed(running));
        var gone = cluster.cli(2).run("restart", running);
        assertEquals(1, gone.exitCode(), gone::describe);
        assertTrue(gone.stderr().contains("no checkpoint named " + running), gone::describe);
    }

    /**
     * The node a process and its checkpoint were made on dies with everything on it (daemon,
     * chunkserver, the process): the checkpoint lives on in the file space's other copies and
     * restarts on a survivor. (A node other than the file space's master: a master's death has
     * its own test, FileSpaceFaultsIT, and the last moment's changes may be lost with it.)
     */
    @Test
    void aCheckpointOutlivesTheNodeItWasTakenOn() {
        @SuppressWarnings("unchecked")
        var fs = (Map<String, Object>) TinyJson.parse(cluster.cli(1).run("fs", "status", "--json").out());
        String master = (String) fs.get("master");
        int dies = master.equals("node3") ? 2 : 3;
        int survivor = 6 - dies - Integer.parseInt(master.substring(4));
        var r = cluster.cli(1).run("run", "-d", "-n", "node" + dies, "--", "python3", "-c",
            "import time\ni = 0\nwhile True:\n    print(i, flush=True); i += 1; time.sleep(0.05)");
        assertEquals(0, r.exitCode(), r::describe);
        String gpid = r.out().strip();
        Eventually.holds(Duration.ofSeconds(30), "it counts", () -> numbers(gpid).size() > 10);
        var taken = cluster.cli(1).run("checkpoint", gpid);
        assertEquals(0, taken.exitCode(), taken::describe);
        String name = taken.out().strip();
        int atStop = numbers(gpid).size();
        cluster.killHost(dies);
        try {
            // refused while its node is in the view but silent (it may still run there), then taken
            Eventually.holds(Duration.ofSeconds(90), "restarted on a survivor from the file space's other copy", () -> {
                var again = cluster.cli(survivor).run("restart", "-n", "node" + survivor, name);
                assertTrue(again.exitCode() == 0 || again.stderr().contains("may still run there"), again::describe);
                return again.exitCode() == 0;
            });
            assertEquals("node" + survivor, psRow(gpid).get("node"));
            Eventually.holds(Duration.ofSeconds(30), "it counts on",
                () -> cluster.cli(survivor).run("logs", gpid).out().lines().count() > atStop + 10);
            List<Integer> seen = cluster.cli(survivor).run("logs", gpid).out().lines().map(Integer::parseInt).toList();
            for (int i = 0; i < seen.size(); i++) {
                assertEquals(i, seen.get(i), "its log, from its checkpoint, once and in order");
            }
            assertEquals(0, cluster.cli(survivor).run("kill", "-9", gpid).exitCode());
            assertEquals(0, cluster.cli(survivor).run("checkpoints", "rm", name).exitCode());
        } finally {
            var up = cluster.restart();
            assertEquals(0, up.exitCode(), up::describe);
        }
    }

    /**
     * A node frozen long enough to leave the cluster comes back with a process that was restarted
     * elsewhere meanwhile: its stale copy is ended (StaleCopies), one copy runs, the restarted one.
     */
    @Test
    void aFrozenNodeComingBackEndsItsStaleCopy() {
        @SuppressWarnings("unchecked")
        var fs = (Map<String, Object>) TinyJson.parse(cluster.cli(1).run("fs", "status", "--json").out());
        String master = (String) fs.get("master");
        int frozen = master.equals("node3") ? 2 : 3; // neither the home node (node1) nor the file space's master
        int other = 6 - frozen - 1;
        String tag = "stale" + System.nanoTime();
        var r = cluster.cli(1).run("run", "-d", "-n", "node" + frozen, "--", "python3", "-c",
            "import time # " + tag + "\ni = 0\nwhile True:\n    print(i, flush=True); i += 1; time.sleep(0.05)");
        assertEquals(0, r.exitCode(), r::describe);
        String gpid = r.out().strip();
        Eventually.holds(Duration.ofSeconds(30), "it counts", () -> numbers(gpid).size() > 10);
        var taken = cluster.cli(1).run("checkpoint", "--leave-running", gpid);
        assertEquals(0, taken.exitCode(), taken::describe);
        String name = taken.out().strip();
        java.util.function.Supplier<Long> copies = () -> Procs.exec(10, "pgrep", "-f", "^[^ ]*python3 -c import time # " + tag)
            .stdout().strip().lines().count();
        cluster.freeze(frozen);
        try {
            Eventually.holds(Duration.ofSeconds(90), "restarted once its node left the cluster", () -> {
                var again = cluster.cli(1).run("restart", "-n", "node" + other, name);
                assertTrue(again.exitCode() == 0 || again.stderr().contains("may still run there"), again::describe);
                return again.exitCode() == 0;
            });
            assertEquals(2, copies.get(), "the frozen node's copy still runs, and the restarted one");
        } finally {
            cluster.thaw(frozen);
        }
        Eventually.holds(Duration.ofSeconds(90), "the frozen node, back, ends its stale copy", () -> copies.get() == 1);
        assertEquals("node" + other, psRow(gpid).get("node"));
        Eventually.holds(Duration.ofSeconds(30), "said in events",
            () -> cluster.cli(1).run("events", "--json").out().contains("its stale copy on node" + frozen));
        assertEquals(0, cluster.cli(1).run("kill", "-9", gpid).exitCode());
        assertEquals(137, cluster.cli(1).run("wait", gpid).exitCode());
        assertEquals(0, cluster.cli(1).run("checkpoints", "rm", name).exitCode());
    }

    /** run --checkpoint-every: checkpointed that often where it runs, the last two kept, and on after a move. */
    @Test
    void aProcessCheckpointedEveryTenSecondsKeepsItsLastTwoWhereverItRuns() {
        var r = cluster.cli(1).run("run", "-d", "-n", "node1", "--checkpoint-every", "10s", "--", "python3", "-c",
            "import time\ni = 0\nwhile True:\n    print(i, flush=True); i += 1; time.sleep(0.05)");
        assertEquals(0, r.exitCode(), r::describe);
        String gpid = r.out().strip();
        java.util.function.Supplier<List<Map<String, Object>>> mine = () -> TinyJson.rows(
            cluster.cli(2).run("checkpoints", "--json").out()).stream().filter(m -> gpid.equals(m.get("gpid"))).toList();
        Eventually.holds(Duration.ofSeconds(60), "a third one taken, the first removed", () -> {
            var names = mine.get().stream().map(m -> (String) m.get("name")).toList();
            assertTrue(names.size() <= 2, "the last two kept: " + names);
            return names.contains(gpid + ".3");
        });
        assertTrue(mine.get().stream().allMatch(m -> "node1".equals(m.get("node")) && Boolean.FALSE.equals(m.get("stopped"))),
            mine.get()::toString);
        var moved = cluster.cli(1).run("migrate", gpid, "node3");
        assertEquals(0, moved.exitCode(), moved::describe);
        Eventually.holds(Duration.ofSeconds(40), "checkpointed on node3 now", () ->
            mine.get().stream().anyMatch(m -> "node3".equals(m.get("node"))));
        assertTrue(mine.get().size() <= 2, mine.get()::toString);
        assertTrue(numbers(gpid).size() > 100, "it ran on all along");
        assertEquals(0, cluster.cli(1).run("kill", "-9", gpid).exitCode());
        assertEquals(137, cluster.cli(1).run("wait", gpid).exitCode());
        Eventually.holds(Duration.ofSeconds(30), "its periodic checkpoints go when it ends: nothing restarts it",
            () -> mine.get().isEmpty());
        var attached = cluster.cli(1).run("run", "--checkpoint-every", "10s", "--", "true");
        assertEquals(2, attached.exitCode(), attached::describe);
        assertTrue(attached.stderr().contains("--checkpoint-every needs -d"), attached::describe);
        assertEquals(2, cluster.cli(1).run("run", "-d", "--checkpoint-every", "5s", "--", "true").exitCode(), "10s at least");
        var bad = cluster.cli(1).run("run", "-d", "--checkpoint-every", "often", "--", "true");
        assertEquals(2, bad.exitCode(), bad::describe);
        assertTrue(bad.stderr().contains("--checkpoint-every takes a duration"), bad::describe);
    }

    /**
     * A process with periodic checkpoints whose node dies (its whole host) is restarted by its
     * home node from its last checkpoint on a live node, with its GPID and its log up to then. A
     * second one's checkpoint is unreadable when the node dies (the test overwrote it, keeping the
     * original aside): the home node says so in its log and reads it again until it can (the test
     * puts it back), then restarts that one too.
     */
    @Test
    void aNodesDeathRestartsItsPeriodicallyCheckpointedProcessElsewhere() {
        @SuppressWarnings("unchecked")
        var fs = (Map<String, Object>) TinyJson.parse(cluster.cli(1).run("fs", "status", "--json").out());
        String master = (String) fs.get("master");
        int dies = master.equals("node3") ? 2 : 3; // neither its home (node1) nor the file space's master
        var r = cluster.cli(1).run("run", "-d", "-n", "node" + dies, "--checkpoint-every", "10s", "--", "python3", "-c",
            "import sys, time\ni = 0\nwhile i < 800:\n    print(i, flush=True); i += 1; time.sleep(0.05)\nsys.exit(7)");
        assertEquals(0, r.exitCode(), r::describe);
        String gpid = r.out().strip();
        var r2 = cluster.cli(1).run("run", "-d", "-n", "node" + dies, "--checkpoint-every", "10s", "--", "sleep", "600");
        assertEquals(0, r2.exitCode(), r2::describe);
        String late = r2.out().strip();
        String[] lateName = new String[1];
        Eventually.holds(Duration.ofSeconds(40), "both checkpointed once", () -> {
            var rows = TinyJson.rows(cluster.cli(1).run("checkpoints", "--json").out());
            lateName[0] = rows.stream().filter(m -> late.equals(m.get("gpid"))).map(m -> (String) m.get("name")).findFirst().orElse(null);
            return lateName[0] != null && rows.stream().anyMatch(m -> gpid.equals(m.get("gpid")));
        });
        String store = "/gestalt/.gestalt/checkpoints/";
        var hide = cluster.cli(1).run("run", "-n", "node1", "--", "sh", "-c", "mv " + store + lateName[0] + ".ckpt "
            + store + "../kept-aside && printf broken > " + store + lateName[0] + ".ckpt");
        assertEquals(0, hide.exitCode(), hide::describe);
        long mark = ViewLog.mark(cluster.log(1));
        cluster.killHost(dies);
        try {
            Eventually.holds(Duration.ofSeconds(90), "restarted on a live node by its home node", () -> {
                var row = TinyJson.rows(cluster.cli(1).run("ps", "--json").out()).stream()
                    .filter(m -> gpid.equals(m.get("gpid"))).findFirst().orElse(null);
                return row != null && !("node" + dies).equals(row.get("node")) && !String.valueOf(row.get("state")).startsWith("exit");
            });
            int restartedAt = numbers(gpid).size();
            Eventually.holds(Duration.ofSeconds(30), "it counts on", () -> numbers(gpid).size() > restartedAt + 10);
            Eventually.holds(Duration.ofSeconds(60), "node1 says it cannot read " + lateName[0] + " now", () ->
                ViewLog.text(cluster.log(1), mark).contains("checkpoints that cannot be read now, tried again for 60 s: " + lateName[0]));
            var back = cluster.cli(1).run("run", "-n", "node1", "--", "mv", store + "../kept-aside", store + lateName[0] + ".ckpt");
            assertEquals(0, back.exitCode(), back::describe);
            Eventually.holds(Duration.ofSeconds(60), "the one whose checkpoint was unreadable is restarted once it is back", () -> {
                var row = TinyJson.rows(cluster.cli(1).run("ps", "--json").out()).stream()
                    .filter(m -> late.equals(m.get("gpid"))).findFirst().orElse(null);
                return row != null && !("node" + dies).equals(row.get("node")) && !String.valueOf(row.get("state")).startsWith("exit");
            });
            assertEquals(0, cluster.cli(1).run("kill", late).exitCode());
            assertTrue(cluster.cli(1).run("events", "--json").out().contains(gpid + " restarted on"), "said in events");
            var waited = cluster.cli(1).withTimeout(Duration.ofSeconds(90)).run("wait", gpid);
            assertEquals(7, waited.exitCode(), "it finishes where it was restarted, with its code: " + waited.describe());
            List<Integer> seen = numbers(gpid);
            assertEquals(800, seen.size(), "its log: every number, up to its end");
            for (int i = 0; i < seen.size(); i++) {
                assertEquals(i, seen.get(i), "its log: from its last checkpoint on, once and in order");
            }
        } finally {
            var up = cluster.restart();
            assertEquals(0, up.exitCode(), up::describe);
        }
    }

    /**
     * A process attached to its client (run without -d) is checkpointed too; restarted (its client
     * gone), it runs detached: what it writes from there goes to its log, its stdin reads nothing.
     */
    @Test
    void anAttachedProcessIsCheckpointedAndRestartsDetached() {
        String tag = "attached-ckpt-" + System.nanoTime();
        var attached = cluster.cli(1).start("run", "-n", "node2", "--", "python3", "-c",
            "import sys, time # " + tag + "\nfor i in range(100000):\n    print(i, flush=True); time.sleep(0.02)");
        String[] gpid = new String[1];
        Eventually.holds(Duration.ofSeconds(30), "it runs", () -> {
            gpid[0] = TinyJson.rows(cluster.cli(1).run("ps", "--json").out()).stream()
                .filter(p -> String.valueOf(p.get("command")).contains(tag)).map(p -> (String) p.get("gpid"))
                .findFirst().orElse(null);
            return gpid[0] != null && attached.stdoutSoFar().contains("\n20\n");
        });
        var c = cluster.cli(1).run("checkpoint", "--leave-running", gpid[0]);
        assertEquals(0, c.exitCode(), c::describe);
        String name = c.out().strip();
        assertTrue(attached.isAlive(), "it runs on, attached, after its checkpoint");
        assertEquals(0, cluster.cli(1).run("kill", "-9", gpid[0]).exitCode());
        assertEquals(137, attached.await(Duration.ofSeconds(30)).exitCode());
        try {
            var r = cluster.cli(1).run("restart", "-n", "node3", name);
            assertEquals(0, r.exitCode(), r::describe);
            Eventually.holds(Duration.ofSeconds(30), "it writes its log on node3", () -> numbers(gpid[0]).size() >= 20);
            List<Integer> seen = numbers(gpid[0]);
            assertTrue(seen.getFirst() > 20, "it goes on from its checkpoint, not from the start: " + seen);
            for (int i = 1; i < seen.size(); i++) {
                assertEquals(seen.get(i - 1) + 1, seen.get(i), "one number after the other: " + seen);
            }
            assertEquals("node3", psRow(gpid[0]).get("node"));
            assertEquals(0, cluster.cli(1).run("kill", gpid[0]).exitCode());
            assertEquals(143, cluster.cli(2).run("wait", gpid[0]).exitCode(), "wait gets its end, as for any detached process");
        } finally {
            cluster.cli(1).run("checkpoints", "rm", name);
        }
    }

    @Test
    void whatCannotBeCheckpointedSaysWhyAndRunsOn() {
        var pinned = cluster.cli(1).run("run", "-d", "--no-migrate", "--", "sleep", "303");
        var no = cluster.cli(1).run("checkpoint", pinned.out().strip());
        assertEquals(1, no.exitCode(), no::describe);
        assertTrue(no.stderr().contains("--no-migrate"), no::describe);
        assertEquals(0, cluster.cli(1).run("kill", "-9", pinned.out().strip()).exitCode());

        assertEquals(2, cluster.cli(1).run("checkpoint").exitCode(), "usage: no GPID");
        assertEquals(2, cluster.cli(1).run("restart").exitCode(), "usage: no CHECKPOINT");
        assertEquals(2, cluster.cli(1).run("checkpoints", "frobnicate").exitCode(), "usage: checkpoints rm NAME...");
        var unknown = cluster.cli(1).run("restart", "1-424242.1");
        assertEquals(1, unknown.exitCode(), unknown::describe);
        assertTrue(unknown.stderr().contains("no checkpoint named 1-424242.1"), unknown::describe);
    }
}

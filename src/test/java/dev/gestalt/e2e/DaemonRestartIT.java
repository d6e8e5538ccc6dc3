package dev.gestalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gestalt.testkit.Cli;
import dev.gestalt.testkit.Eventually;
import dev.gestalt.testkit.LocalClusterFixture;
import dev.gestalt.testkit.Procs;
import dev.gestalt.testkit.TinyJson;
import java.time.Duration;
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
 * A node daemon killed with SIGKILL (its keeper is not) and started again: its jobs live on
 * under the keeper, and the new daemon re-adopts them. What must survive: every detached job
 * (its log complete, and going on), an attached job that survives the SIGHUP of its lost
 * session (it goes on detached), the keeper; what must not: an attached job that does not
 * survive SIGHUP, and the attached clients (255, "node node2 lost"). After the restart, ps,
 * logs, attach, kill and wait work on the re-adopted jobs, and new GPIDs never repeat old ones.
 */
@Tag("e2e")
@Execution(ExecutionMode.CONCURRENT) // beside the other classes, on a cluster of its own (pom.xml: failsafe)
@ResourceLock("DaemonRestartIT") // its own tests one after another
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class DaemonRestartIT {

    @RegisterExtension
    static final LocalClusterFixture cluster = LocalClusterFixture.perClass(3);

    @AfterAll
    static void noLeftovers() {
        for (String pattern : List.of("^sleep 321$", "^sleep 324$", "gst-restart-")) {
            Procs.pgrep(pattern).forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
        }
    }

    private static Cli home() {
        return cluster.cli(1);
    }

    private static Map<String, Object> row(String gpid) {
        var r = home().run("ps", "--json");
        assertEquals(0, r.exitCode(), r::describe);
        return TinyJson.rows(r.out()).stream().filter(m -> gpid.equals(m.get("gpid"))).findFirst().orElse(null);
    }

    private static String gpidOf(String commandFragment) {
        var r = home().run("ps", "--json");
        return TinyJson.rows(r.out()).stream().filter(m -> String.valueOf(m.get("command")).contains(commandFragment))
            .map(m -> (String) m.get("gpid")).findFirst().orElseThrow(() -> new AssertionError("no " + commandFragment + " in " + r.out()));
    }

    /** The numbers of "line N" in a log, which must run 0, 1, 2... without a gap. */
    private static int checkConsecutive(String log) {
        var lines = log.lines().toList();
        for (int i = 0; i < lines.size(); i++) {
            assertEquals("line " + i, lines.get(i), "the log is complete: line " + i + " of\n" + log);
        }
        return lines.size();
    }

    @Test
    void jobsOutliveTheirDaemonAndTheRestartedOneAdoptsThem() {
        var d = home().run("run", "-d", "-n", "node2", "--", "sh", "-c",
            "i=0; while :; do echo line $i; i=$((i+1)); sleep 0.1; done; : gst-restart-d");
        assertEquals(0, d.exitCode(), d::describe);
        String detached = d.out().strip();
        var t = home().run("run", "-d", "-t", "-n", "node2", "--", "sh", "-c",
            "while read l; do echo \"got $l\"; done; : gst-restart-t");
        assertEquals(0, t.exitCode(), t::describe);
        String terminal = t.out().strip();
        var survivor = home().start("run", "-n", "node2", "--", "sh", "-c",
            "trap '' HUP; echo ready; while :; do echo tick; sleep 0.2; done; : gst-restart-a");
        var hungUp = home().start("run", "-n", "node2", "--", "sh", "-c", "echo ready; exec sleep 321");
        Eventually.holds(Duration.ofSeconds(60), "both attached jobs run",
            () -> survivor.stdoutSoFar().contains("ready") && hungUp.stdoutSoFar().contains("ready"));
        String attached = gpidOf("gst-restart-a");
        long keeper = Procs.withCommandLine("--keeper " + cluster.dir().resolve("node2")).getFirst();
        // a GPID node2 hands out before its crash: none handed out after it may repeat it
        var last = cluster.cli(2).run("run", "-d", "--", "true");
        assertEquals(0, last.exitCode(), last::describe);
        String lastOfNode2 = last.out().strip();

        cluster.kill9(2);

        var s = survivor.await(Duration.ofSeconds(30));
        assertEquals(255, s.exitCode(), s::describe);
        assertTrue(s.stderr().contains("node node2 lost"), s::describe);
        var h = hungUp.await(Duration.ofSeconds(30));
        assertEquals(255, h.exitCode(), h::describe);
        assertTrue(h.stderr().contains("node node2 lost"), h::describe);
        Eventually.holds(Duration.ofSeconds(30), "the attached sleep that did not survive SIGHUP ends",
            () -> Procs.pgrep("^sleep 321$").isEmpty());
        assertTrue(Procs.alive(keeper), "the keeper outlives its daemon");
        assertTrue(!Procs.pgrep("gst-restart-a").isEmpty(), "the attached job that survived SIGHUP runs on");

        var up = cluster.restart();
        assertEquals(0, up.exitCode(), up::describe);

        for (String gpid : List.of(detached, terminal, attached)) {
            Map<String, Object> p = row(gpid);
            assertTrue(p != null, gpid + " is listed again");
            assertEquals("node2", p.get("node"));
            assertEquals(Boolean.TRUE, p.get("detached"), gpid + " is detached now: " + p);
            assertNotEquals("exited", p.get("state"), gpid + " runs: " + p);
        }
        var log = home().run("logs", detached);
        assertEquals(0, log.exitCode(), log::describe);
        int before = checkConsecutive(log.out());
        Eventually.holds(Duration.ofSeconds(30), "the detached job's log goes on", () -> {
            var again = home().run("logs", detached);
            return checkConsecutive(again.out()) > before + 5;
        });
        var ticks = home().run("logs", attached);
        assertEquals(0, ticks.exitCode(), ticks::describe);
        assertTrue(ticks.out().contains("tick"), "the hung-up job's further output is in its log: " + ticks.describe());

        var attach = home().start("attach", "-T", terminal);
        attach.writeStdin("hello\n".getBytes());
        Eventually.holds(Duration.ofSeconds(30), "attach types into the re-adopted terminal and shows its output",
            () -> attach.stdoutSoFar().contains("got hello"));

        for (String gpid : List.of(detached, attached, terminal)) {
            var kill = home().run("kill", gpid);
            assertEquals(0, kill.exitCode(), kill::describe);
        }
        var waitD = home().run("wait", detached);
        assertEquals(143, waitD.exitCode(), waitD::describe);
        var waitA = home().run("wait", attached);
        assertEquals(143, waitA.exitCode(), waitA::describe);
        assertEquals(143, home().run("wait", terminal).exitCode());
        var attachEnd = attach.await(Duration.ofSeconds(30));
        assertEquals(143, attachEnd.exitCode(), attachEnd::describe);
        assertTrue(Procs.pgrep("gst-restart-").isEmpty(), "nothing of the jobs is left");

        var next = cluster.cli(2).run("run", "-d", "--", "true");
        assertEquals(0, next.exitCode(), next::describe);
        assertTrue(lastOfNode2.startsWith("2-") && next.out().startsWith("2-"), "node2 is the home of both: " + next.out());
        long lastSeq = Long.parseLong(lastOfNode2.substring(2));
        long nextSeq = Long.parseLong(next.out().strip().substring(2));
        assertTrue(nextSeq > lastSeq, "node2 never hands out a GPID twice across its crash: " + lastOfNode2 + " then " + next.out());
    }

    /**
     * A daemon that fails to start (its socket's path is taken: the last step of a start, after
     * it re-adopted its jobs and joined) leaves them to the keeper: a failed start is not a stop.
     * The next start adopts them. (Not a taken port: a root local cluster's node has a network
     * of its own, which this test does not reach.)
     */
    @Test
    void aDaemonThatFailsToStartLeavesItsJobsToTheNextStart() throws Exception {
        var d = home().run("run", "-d", "-n", "node3", "--", "sh", "-c", "echo started; exec sleep 324");
        assertEquals(0, d.exitCode(), d::describe);
        String gpid = d.out().strip();
        cluster.kill9(3);
        java.nio.file.Path socket = cluster.socket(3);
        java.nio.file.Files.deleteIfExists(socket);
        java.nio.file.Files.createDirectories(socket.resolve("taken"));
        try {
            var failed = cluster.restart();
            assertNotEquals(0, failed.exitCode(), "node3 cannot start while its socket's path is taken: " + failed.describe());
            assertTrue(java.nio.file.Files.readString(cluster.log(3)).contains("cannot start node3"), "node3 says why in its log");
        } finally {
            java.nio.file.Files.delete(socket.resolve("taken"));
            java.nio.file.Files.delete(socket);
        }
        assertTrue(!Procs.pgrep("^sleep 324$").isEmpty(), "the job lives on after the failed start");
        var up = cluster.restart();
        assertEquals(0, up.exitCode(), up::describe);
        Eventually.holds(Duration.ofSeconds(60), gpid + " is adopted again", () -> {
            Map<String, Object> p = row(gpid);
            return p != null && !"exited".equals(p.get("state"));
        });
        assertEquals("started\n", home().run("logs", gpid).out());
        assertEquals(0, home().run("kill", "-9", gpid).exitCode());
        assertEquals(137, home().run("wait", gpid).exitCode());
    }

    /**
     * A process checkpointed every 10 s is checkpointed on after its node's daemon was killed and
     * started again (the period is in the node's job records: before, the restarted daemon forgot
     * it, and the process ran on with no checkpoint).
     */
    @Test
    void periodicCheckpointsGoOnAfterTheDaemonsRestart() {
        var d = home().run("run", "-d", "-n", "node3", "--checkpoint-every", "10s", "--", "sh", "-c",
            "while :; do sleep 1; done; : gst-restart-p");
        assertEquals(0, d.exitCode(), d::describe);
        String gpid = d.out().strip();
        java.util.function.Supplier<List<Map<String, Object>>> mine = () -> dev.gestalt.testkit.TinyJson.rows(
            home().run("checkpoints", "--json").out()).stream().filter(m -> gpid.equals(m.get("gpid"))).toList();
        try {
            cluster.kill9(3); // before its first checkpoint
            var up = cluster.restart();
            assertEquals(0, up.exitCode(), up::describe);
            Eventually.holds(Duration.ofSeconds(60), gpid + " is checkpointed by the restarted daemon",
                () -> !mine.get().isEmpty());
            assertEquals("node3", mine.get().getFirst().get("node"), mine.get()::toString);
        } finally {
            home().run("kill", "-9", gpid);
        }
        Eventually.holds(Duration.ofSeconds(30), "its periodic checkpoints go when it ends", () -> mine.get().isEmpty());
    }
}

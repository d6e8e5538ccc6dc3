package dev.gestalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gestalt.testkit.Cli;
import dev.gestalt.testkit.Eventually;
import dev.gestalt.testkit.LocalClusterFixture;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code run -d}, {@code logs [-f]} and {@code wait} from another node than the home node. */
@Tag("e2e")
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class DetachIT {

    @RegisterExtension
    static final LocalClusterFixture cluster = LocalClusterFixture.shared(3);

    private static final String GPID = "\\d+-\\d+";

    /** Home node1, execution node2. */
    private static String detach(String script) {
        var r = cluster.cli(1).run("run", "-d", "-n", "node2", "--", "sh", "-c", script);
        assertEquals(0, r.exitCode(), r::describe);
        assertTrue(r.out().matches(GPID + "\n"), "run -d prints only the GPID: " + r.describe());
        assertTrue(r.out().startsWith("1-"), "node1 is the home node: " + r.out());
        return r.out().strip();
    }

    /** The CLI of node3: neither home nor execution node. */
    private static Cli other() {
        return cluster.cli(3);
    }

    @Test
    void logsFromAnotherNode() {
        String gpid = detach("echo out1; echo err1 >&2; sleep 1; echo out2; exit 3");
        var done = other().run("wait", gpid);
        assertEquals(3, done.exitCode(), done::describe);
        var logs = other().run("logs", gpid);
        assertEquals(0, logs.exitCode(), logs::describe);
        assertEquals("out1\nout2\n", logs.out());
        assertEquals("err1\n", logs.stderr());
    }

    @Test
    void logsFollowFromAnotherNodeEndsWithTheProcess() {
        String gpid = detach("echo first; sleep 3; echo second; echo err2 >&2");
        var follow = other().start("logs", "-f", gpid);
        Eventually.holds(Duration.ofSeconds(30), "logs -f shows the first line", () -> follow.stdoutSoFar().contains("first"));
        var r = follow.await(Duration.ofSeconds(60));
        assertEquals(0, r.exitCode(), r::describe);
        assertEquals("first\nsecond\n", r.out());
        assertEquals("err2\n", r.stderr());
    }

    @Test
    void waitReturnsTheExitCode() {
        String gpid = detach("sleep 2; exit 42");
        var r = other().run("wait", gpid);
        assertEquals(42, r.exitCode(), r::describe);
        var again = cluster.cli(1).run("wait", gpid);
        assertEquals(42, again.exitCode(), "waiting on an ended process gives its code again: " + again.describe());
    }

    @ParameterizedTest
    @ValueSource(strings = {"wait", "logs", "kill"})
    void unknownGpidExitsOne(String command) {
        var r = other().run(command, "9-987654");
        assertEquals(1, r.exitCode(), r::describe);
        assertTrue(r.stderr().contains("9-987654") && r.stderr().contains("no such process"), r::describe);
    }

    @ParameterizedTest
    @ValueSource(strings = {"wait", "logs", "kill"})
    void malformedGpidIsAnError(String command) {
        var r = other().run(command, "not-a-gpid");
        assertTrue(r.exitCode() == 1 || r.exitCode() == 2, r::describe);
        assertTrue(r.stderr().contains("not-a-gpid"), r::describe);
        assertEquals("", r.out());
    }

    /** As with a local program, Ctrl-C (SIGINT) and SIGTERM end wait and logs -f at once; the job runs on. */
    @ParameterizedTest(name = "{0} ended by SIG{1}")
    @CsvSource({"wait, INT, 130", "wait, TERM, 143", "logs, INT, 130", "logs, TERM, 143"})
    void waitAndLogsFollowEndAtOnceOnASignal(String command, String signal, int code) {
        String gpid = detach("echo first; exec sleep 322");
        other().run("nodes"); // a JVM client has run once: the next one starts as it will in use
        var running = command.equals("wait") ? other().start("wait", gpid) : other().start("logs", "-f", gpid);
        if (command.equals("logs")) {
            Eventually.holds(Duration.ofSeconds(30), "logs -f shows the first line", () -> running.stdoutSoFar().contains("first"));
        } else {
            sleepQuietly(2000); // the client waits for the node's answer now
        }
        try {
            running.signal(signal);
            var r = running.await(Duration.ofSeconds(10));
            assertEquals(code, r.exitCode(), r::describe);
            assertEquals("", r.stderr(), "quietly, as a local program: " + r.describe());
            var ps = other().run("ps");
            assertTrue(ps.out().lines().anyMatch(l -> l.startsWith(gpid + " ") && !l.contains("exit")),
                "the job keeps running: " + ps.describe());
        } finally {
            other().run("kill", "-9", gpid);
        }
    }

    private static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

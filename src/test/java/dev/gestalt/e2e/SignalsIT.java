package dev.gestalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gestalt.testkit.Cli;
import dev.gestalt.testkit.Eventually;
import dev.gestalt.testkit.LocalClusterFixture;
import dev.gestalt.testkit.Procs;
import dev.gestalt.testkit.TinyJson;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Signals through the real CLI: what the user's terminal or shell sends to
 * {@code gestalt run} reaches the remote process; {@code gestalt kill -9}
 * ends what ignores SIGTERM; a CLI killed outright leaves no orphan.
 * Each test uses its own sleep duration, so {@code pgrep} finds only its own.
 */
@Tag("e2e")
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class SignalsIT {

    @RegisterExtension
    static final LocalClusterFixture cluster = LocalClusterFixture.shared(3);

    private static final Duration READY = Duration.ofSeconds(60);

    private static Cli cli() {
        return cluster.cli(1);
    }

    @ParameterizedTest
    @ValueSource(strings = {"INT", "TERM", "HUP"})
    void signalToTheCliReachesTheRemoteProcess(String signal) {
        var run = cli().start("run", "-n", "node2", "--", "sh", "-c",
            "trap 'echo got " + signal + "; exit 5' " + signal + "; echo ready; sleep 100 & wait");
        Eventually.holds(READY, "the remote shell set its trap", () -> run.stdoutSoFar().contains("ready") || !run.isAlive());
        run.signal(signal);
        var r = run.await(Duration.ofSeconds(60));
        assertEquals(5, r.exitCode(), r::describe);
        assertTrue(r.out().contains("got " + signal), r::describe);
    }

    @Test
    void killDashNineEndsAProcessThatIgnoresTerm() {
        var started = cli().run("run", "-d", "-n", "node3", "--", "sh", "-c", "trap '' TERM; exec sleep 313");
        assertEquals(0, started.exitCode(), started::describe);
        String gpid = started.out().strip();
        Eventually.holds(READY, "sleep 313 runs", () -> !Procs.pgrep("^sleep 313$").isEmpty());
        var term = cli().run("kill", gpid);
        assertEquals(0, term.exitCode(), term::describe);
        sleep(3000);
        assertFalse(Procs.pgrep("^sleep 313$").isEmpty(), "a process ignoring SIGTERM survives 'gestalt kill'");
        var kill = cli().run("kill", "-9", gpid);
        assertEquals(0, kill.exitCode(), kill::describe);
        var waited = cluster.cli(2).run("wait", gpid);
        assertEquals(137, waited.exitCode(), waited::describe);
        Eventually.holds(Duration.ofSeconds(30), "sleep 313 is gone", () -> Procs.pgrep("^sleep 313$").isEmpty());
    }

    @Test
    void aCliKilledWithSigkillLeavesNoOrphan() {
        var run = cli().start("run", "-n", "node2", "--", "sh", "-c", "echo ready; exec sleep 314");
        Eventually.holds(READY, "sleep 314 runs", () -> !Procs.pgrep("^sleep 314$").isEmpty());
        run.signal("KILL");
        run.await(Duration.ofSeconds(30));
        Eventually.holds(Duration.ofSeconds(30), "the remote sleep 314 ends after its CLI was SIGKILLed",
            () -> Procs.pgrep("^sleep 314$").isEmpty());
        Eventually.holds(Duration.ofSeconds(30), "ps shows no running sleep 314", () -> {
            var ps = cli().run("ps", "--json");
            return ps.exitCode() == 0 && TinyJson.rows(ps.out()).stream()
                .noneMatch(m -> "sleep 314".equals(m.get("command")) && !"exited".equals(m.get("state")));
        });
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

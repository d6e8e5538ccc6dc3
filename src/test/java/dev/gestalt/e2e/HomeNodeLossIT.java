package dev.gestalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gestalt.testkit.Eventually;
import dev.gestalt.testkit.LocalClusterFixture;
import dev.gestalt.testkit.Procs;
import java.time.Duration;
import java.util.List;
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
 * A home node's death: its attached remote processes are terminated (no
 * orphans), its detached ones keep running and their logs stay readable.
 */
@Tag("e2e")
@Execution(ExecutionMode.CONCURRENT) // beside the other classes, on a cluster of its own (pom.xml: failsafe)
@ResourceLock("HomeNodeLossIT") // its own tests one after another
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class HomeNodeLossIT {

    @RegisterExtension
    static final LocalClusterFixture cluster = LocalClusterFixture.perClass(3);

    @AfterAll
    static void noLeftovers() {
        for (String pattern : List.of("^sleep 317$", "^sleep 318$")) {
            Procs.pgrep(pattern).forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
        }
    }

    @Test
    void attachedProcessesDieWithTheirHomeDetachedOnesLive() {
        var attached = cluster.cli(1).start("run", "-n", "node2", "--", "sh", "-c", "echo ready; exec sleep 317");
        var d = cluster.cli(1).run("run", "-d", "-n", "node2", "--", "sh", "-c", "echo started; exec sleep 318");
        assertEquals(0, d.exitCode(), d::describe);
        String detached = d.out().strip();
        Eventually.holds(Duration.ofSeconds(60), "both sleeps run on node2",
            () -> !Procs.pgrep("^sleep 317$").isEmpty() && !Procs.pgrep("^sleep 318$").isEmpty());

        cluster.kill9(1);

        var r = attached.await(Duration.ofSeconds(30));
        assertEquals(255, r.exitCode(), "the CLI loses its home node: " + r.describe());
        Eventually.holds(Duration.ofSeconds(30), "the attached sleep 317 is terminated when its home node dies",
            () -> Procs.pgrep("^sleep 317$").isEmpty());
        Eventually.stays(Duration.ofSeconds(5), "the detached sleep 318 keeps running", () -> !Procs.pgrep("^sleep 318$").isEmpty());

        var logs = cluster.cli(3).run("logs", detached);
        assertEquals(0, logs.exitCode(), logs::describe);
        assertEquals("started\n", logs.out());
        var ps = cluster.cli(3).run("ps");
        assertTrue(ps.out().lines().anyMatch(l -> l.startsWith(detached + " ") && l.contains("node2")), ps::describe);

        var kill = cluster.cli(3).run("kill", "-9", detached);
        assertEquals(0, kill.exitCode(), kill::describe);
        var wait = cluster.cli(3).run("wait", detached);
        assertEquals(137, wait.exitCode(), wait::describe);
        assertFalse(Procs.pgrep("^sleep 318$").stream().anyMatch(Procs::alive));
    }
}

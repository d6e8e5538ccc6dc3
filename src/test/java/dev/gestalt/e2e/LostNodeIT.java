package dev.gestalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gestalt.testkit.Cli;
import dev.gestalt.testkit.Eventually;
import dev.gestalt.testkit.LocalClusterFixture;
import dev.gestalt.testkit.Procs;
import dev.gestalt.testkit.TestTerminal;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.parallel.ResourceLock;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A node that stops answering (frozen with SIGSTOP) or dies (SIGKILL) never hangs a client:
 * clients of a frozen home node end with "node NAME not answering" (255), and a signal they
 * cannot deliver ends them as it would end a local program; new clients pass the frozen node
 * over for the next one; clients whose execution node is frozen or dead (wait, logs -f, attach,
 * attached run) end with "node NAME lost" (255), in Gestalt's words. What must survive: the
 * other nodes and their work; what must not: the remote programs of clients that gave up.
 */
@Tag("e2e")
@Execution(ExecutionMode.CONCURRENT) // beside the other classes, on a cluster of its own (pom.xml: failsafe)
@ResourceLock("LostNodeIT") // its own tests one after another
@Timeout(value = 8, unit = TimeUnit.MINUTES)
class LostNodeIT {

    @RegisterExtension
    static final LocalClusterFixture cluster = LocalClusterFixture.perClass(3);

    /** The bound on noticing a node that stopped answering (15 s), with room for a loaded machine. */
    private static final Duration NOTICED = Duration.ofSeconds(15 + 10);
    /** Text of the transport that must never reach the user. */
    private static final Pattern RAW = Pattern.compile("UNAVAILABLE|DEADLINE|io exception|deadline exceeded|Status\\{|CallOptions");

    @AfterEach
    void heal() {
        for (int i = 1; i <= cluster.size(); i++) {
            try {
                long pid = cluster.pid(i);
                if (Procs.alive(pid)) {
                    Procs.signal(pid, "CONT");
                }
            } catch (RuntimeException e) {
                // no pid file
            }
        }
        var r = cluster.restart();
        assertEquals(0, r.exitCode(), "the cluster heals: " + r.describe() + "\n" + cluster.logTails());
    }

    @AfterAll
    static void noLeftovers() {
        Procs.pgrep("^sleep 3[34][0-9]$").forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
    }

    private static Cli jvm(Cli c) {
        return c.withEnv("GESTALT_JVM_CLIENT", "1");
    }

    private static Cli.Running started(Cli c, String... args) {
        var r = c.start(args);
        Eventually.holds(Duration.ofSeconds(60), "gestalt " + String.join(" ", args) + " has started its program",
            () -> r.stdoutSoFar().contains("ready") || !r.isAlive());
        assertTrue(r.isAlive(), () -> r.await(Duration.ofSeconds(5)).describe());
        return r;
    }

    private static void assertEnded(Cli.Result r, int code, String message) {
        assertEquals(code, r.exitCode(), r::describe);
        assertTrue(r.stderr().contains(message), "says '" + message + "': " + r.describe());
        assertFalse(RAW.matcher(r.stderr()).find(), "no transport text for the user: " + r.describe());
    }

    private static Duration left(long sinceNanos, Duration bound) {
        return bound.minusNanos(System.nanoTime() - sinceNanos).plusSeconds(1);
    }

    @Test
    void aFrozenHomeNodeNeverHangsItsClients() {
        Cli home = cluster.cli(1);
        var nativeRun = started(home, "run", "-n", "node2", "--", "sh", "-c", "echo ready; exec sleep 331");
        var jvmRun = started(jvm(home), "run", "-n", "node2", "--", "sh", "-c", "echo ready; exec sleep 332");
        var nativeTerm = started(home, "run", "-n", "node2", "--", "sh", "-c", "echo ready; exec sleep 333");
        var jvmInt = started(jvm(home), "run", "-n", "node2", "--", "sh", "-c", "echo ready; exec sleep 334");

        Procs.signal(cluster.pid(1), "STOP");
        long frozen = System.nanoTime();
        try {
            nativeTerm.signal("TERM");
            jvmInt.signal("INT");
            assertEnded(nativeTerm.await(Duration.ofSeconds(15)), 143, "node node1 not answering: SIGTERM not delivered");
            assertEnded(jvmInt.await(Duration.ofSeconds(15)), 130, "node node1 not answering: SIGINT not delivered");

            assertEnded(nativeRun.await(left(frozen, NOTICED)), 255, "gestalt: node node1 not answering");
            assertEnded(jvmRun.await(left(frozen, NOTICED)), 255, "gestalt: node node1 not answering");

            // node1 is first in the cluster's list of sockets: a new client passes it over, as a dead one
            for (Cli c : List.of(cluster.cli(), jvm(cluster.cli()))) {
                var hi = c.call("run", "-n", "node2", "--", "echo", "hi").timeout(Duration.ofSeconds(20)).run();
                assertEquals(0, hi.exitCode(), hi::describe);
                assertEquals("hi\n", hi.out());
            }
        } finally {
            Procs.signal(cluster.pid(1), "CONT");
        }
        Eventually.holds(Duration.ofSeconds(60), "the programs of the clients that gave up end once node1 runs again",
            () -> Procs.pgrep("^sleep 33[1-4]$").isEmpty());
    }

    @Test
    void aFrozenExecutionNodeEndsEveryWaitingClientWithNodeLost() {
        Cli home = cluster.cli(1);
        var d = home.run("run", "-d", "-n", "node2", "--", "sh", "-c", "echo ready; exec sleep 341");
        assertEquals(0, d.exitCode(), d::describe);
        String gpid = d.out().strip();
        var waiting = home.start("wait", gpid);
        var following = started(home, "logs", "-f", gpid);
        var attached = started(home, "run", "-n", "node2", "--", "sh", "-c", "echo ready; exec sleep 342");
        var attachedJvm = started(jvm(home), "run", "-n", "node2", "--", "sh", "-c", "echo ready; exec sleep 343");
        var attaching = home.start("attach", gpid);
        sleep(2000); // wait and attach are waiting on node2 now
        assertTrue(waiting.isAlive() && attaching.isAlive(), () -> waiting.stderrSoFar() + attaching.stderrSoFar());

        Procs.signal(cluster.pid(2), "STOP");
        long frozen = System.nanoTime();
        try {
            for (var c : List.of(waiting, following, attached, attachedJvm, attaching)) {
                assertEnded(c.await(left(frozen, NOTICED)), 255, "node node2 lost");
            }
        } finally {
            Procs.signal(cluster.pid(2), "CONT");
        }
    }

    @Test
    void aDeadExecutionNodeEndsEveryWaitingClientWithNodeLost() throws Exception {
        Cli home = cluster.cli(1);
        var d = home.run("run", "-d", "-n", "node2", "--", "sh", "-c", "echo ready; exec sleep 344");
        assertEquals(0, d.exitCode(), d::describe);
        String gpid = d.out().strip();
        var own = cluster.cli(2).run("run", "-d", "-n", "node2", "--", "sleep", "345");
        assertEquals(0, own.exitCode(), own::describe);
        String homeIsDown = own.out().strip();
        var waiting = home.start("wait", gpid);
        var following = started(home, "logs", "-f", gpid);
        var attached = started(jvm(home), "run", "-n", "node2", "--", "sh", "-c", "echo ready; exec sleep 346");
        try (var terminal = new TestTerminal(home, "run", "-t", "-n", "node2", "--", "sh", "-c", "echo ready; exec sleep 347")) {
            terminal.await("ready");
            sleep(2000);

            cluster.kill9(2);
            long killed = System.nanoTime();
            for (var c : List.of(waiting, following, attached)) {
                assertEnded(c.await(left(killed, NOTICED)), 255, "node node2 lost");
            }
            assertEquals(255, terminal.exit(left(killed, NOTICED)), terminal.screen.toString());
            // the terminal is restored first (its output translation is back on): a line, not a staircase
            assertTrue(terminal.screen.toString().contains("gestalt: node node2 lost\r\n"), terminal.screen.toString());
        }
        var w = home.run("wait", homeIsDown);
        assertEnded(w, 255, "node2 is down");
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

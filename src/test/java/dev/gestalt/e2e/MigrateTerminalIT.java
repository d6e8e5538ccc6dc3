package dev.gestalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.pty4j.WinSize;
import dev.gestalt.testkit.Eventually;
import dev.gestalt.testkit.LocalClusterFixture;
import dev.gestalt.testkit.TestTerminal;
import dev.gestalt.testkit.TinyJson;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Terminal jobs move (issue 9 item 2): an interactive shell in a real terminal, moved while the
 * user's {@code run} or {@code attach} stays connected, comes back on a new terminal of the same
 * size and modes, with its variables, its job control (the interrupt key reaches what runs in its
 * foreground), and its exit code.
 */
@Tag("e2e")
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class MigrateTerminalIT {

    @RegisterExtension
    static final LocalClusterFixture cluster = LocalClusterFixture.shared(3);

    private static Map<String, Object> psRow(String gpid) {
        var ps = cluster.cli(2).run("ps", "--json");
        assertEquals(0, ps.exitCode(), ps::describe);
        return TinyJson.rows(ps.out()).stream().filter(m -> gpid.equals(m.get("gpid"))).findFirst()
            .orElseThrow(() -> new AssertionError(gpid + " not in ps: " + ps.out()));
    }

    /** The GPID of the running attached job whose command is {@code command}. */
    private static String gpidOf(String command) {
        String[] gpid = new String[1];
        Eventually.holds(Duration.ofSeconds(30), command + " runs", () -> {
            gpid[0] = TinyJson.rows(cluster.cli(1).run("ps", "--json").out()).stream()
                .filter(p -> command.equals(p.get("command")) && Boolean.FALSE.equals(p.get("detached"))
                    && !String.valueOf(p.get("state")).startsWith("exit"))
                .map(p -> (String) p.get("gpid")).findFirst().orElse(null);
            return gpid[0] != null;
        });
        return gpid[0];
    }

    @Test
    void anInteractiveShellMovesUnderItsRunClient() throws Exception {
        try (var t = new TestTerminal(cluster.cli(1), "run", "-n", "node1", "--", "bash", "--norc", "--noprofile", "-i")) {
            t.await("bash-");
            // a variable, a size and a mode of its own: the interrupt key is Ctrl-G from now on
            t.type("PS1='$ '; x=42; stty intr '^G'; echo ready-$x\r");
            t.await("ready-42");
            t.process.setWinSize(new WinSize(100, 30));
            Thread.sleep(500);
            String gpid = gpidOf("bash --norc --noprofile -i");
            t.type("sleep 300\r");
            Thread.sleep(1000);
            var moved = cluster.cli(2).run("migrate", gpid, "node3");
            assertEquals(0, moved.exitCode(), moved::describe);
            assertTrue(moved.out().contains("from node1 to node3"), moved::describe);
            assertEquals("node3", psRow(gpid).get("node"));
            t.type("\u0007"); // its interrupt key, on its new terminal, reaches the sleep in its foreground
            t.type("echo status-$? moved-$x; stty size; stty -a | grep -o 'intr = [^;]*'\r");
            t.await("status-130 moved-42");
            t.await("30 100");
            t.await("intr = ^G");
            t.type("echo self-$(cat /proc/$$/comm)-$(readlink /proc/$$/exe)\r"); // its own /proc, after the move
            t.await("self-bash-" + java.nio.file.Path.of("/bin/bash").toRealPath());
            t.type("exit 7\r");
            assertEquals(7, t.exit(), "its exit code reaches run: " + t.screen);
        }
    }

    /** An interactive bash on node2, detached with a terminal; its GPID. */
    private static String detachedBashOnNode2() {
        var started = cluster.cli(1).run("run", "-d", "-t", "-n", "node2", "--", "bash", "--norc", "--noprofile", "-i");
        assertEquals(0, started.exitCode(), started::describe);
        return started.out().strip();
    }

    /** Through attach {@code t}: state in the shell (y=42), echoed back. */
    private static void setY(TestTerminal t) throws Exception {
        Thread.sleep(1500); // attach shows output from now on: there is no prompt to wait for
        t.type("y=$((6*7)); echo one-$y\r");
        t.await("one-42");
    }

    /** A detached terminal job moves; attached again on its new node, its shell has its state. */
    @Test
    void aDetachedTerminalMovesAndIsAttachedThere() throws Exception {
        String gpid = detachedBashOnNode2();
        try (var t = new TestTerminal(cluster.cli(3), "attach", gpid)) {
            setY(t);
            t.type("\u001d"); // Ctrl-]: attach leaves; the job runs on
            assertEquals(0, t.exit(), t.screen.toString());
        }
        var moved = cluster.cli(1).run("migrate", gpid, "node1");
        assertEquals(0, moved.exitCode(), moved::describe);
        try (var t = new TestTerminal(cluster.cli(3), "attach", gpid)) {
            Thread.sleep(1500);
            t.type("echo two-$y on $(tty)\r");
            t.await("two-42 on /dev/pts/");
            t.type("\u001d");
            assertEquals(0, t.exit(), t.screen.toString());
        }
        assertEquals("node1", psRow(gpid).get("node"));
        assertEquals(1L, ((Number) psRow(gpid).get("moves")).longValue());
        var logs = cluster.cli(2).run("logs", gpid);
        assertTrue(logs.out().contains("one-42") && logs.out().contains("two-42"), "its log goes on: " + logs.describe());
        assertEquals(0, cluster.cli(2).run("kill", "-9", gpid).exitCode());
        assertEquals(137, cluster.cli(2).run("wait", gpid).exitCode());
    }

    /**
     * An attach client left connected follows a detached terminal job to its new node, with keys
     * typed all through the move: every key reaches the shell once and in order (before the move
     * each client stops sending, as a run's home node does, and sends what it held to the new
     * node; before that, keys typed in the instant of the move went to the copy left behind, and
     * a key that met the old stream as it ended stopped the client's input for good: cc9, cc10).
     */
    @Test
    void aDetachedTerminalMovesUnderItsAttachClientTypingOn() throws Exception {
        String gpid = detachedBashOnNode2();
        try (var t = new TestTerminal(cluster.cli(3), "attach", gpid)) {
            setY(t);
            var typing = new java.util.concurrent.atomic.AtomicBoolean(true);
            int[] typed = {0};
            t.type("echo S");
            var typer = Thread.ofVirtual().start(() -> {
                try {
                    while (typing.get()) {
                        t.type(typed[0] + ","); // numbered, through the whole move
                        typed[0]++;
                        Thread.sleep(5);
                    }
                } catch (java.io.IOException | InterruptedException e) {
                    // the terminal closed: the assertions below say so
                }
            });
            var moved = cluster.cli(1).run("migrate", gpid, "node1");
            Thread.sleep(1000); // and on, while the client follows it
            typing.set(false);
            typer.join();
            assertEquals(0, moved.exitCode(), moved::describe);
            assertTrue(t.process.isAlive(), "attach stays with it: " + t.screen);
            t.type("E\r");
            StringBuilder all = new StringBuilder();
            for (int i = 0; i < typed[0]; i++) {
                all.append(i).append(',');
            }
            t.await("\rS" + all + "E\r\n"); // echo's output: every number once, in order
            t.type("echo two-$y on $(tty)\r");
            t.await("two-42 on /dev/pts/");
            t.type("\u001d"); // Ctrl-]: attach leaves; the job runs on
            assertEquals(0, t.exit(), t.screen.toString());
        }
        assertEquals("node1", psRow(gpid).get("node"));
        assertEquals(0, cluster.cli(2).run("kill", "-9", gpid).exitCode());
        assertEquals(137, cluster.cli(2).run("wait", gpid).exitCode());
    }
}

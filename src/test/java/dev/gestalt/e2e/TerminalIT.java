package dev.gestalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.pty4j.WinSize;
import dev.gestalt.testkit.Eventually;
import dev.gestalt.testkit.LocalClusterFixture;
import dev.gestalt.testkit.TestTerminal;
import dev.gestalt.testkit.TinyJson;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code run -t} and {@code attach} through a real terminal: the CLI runs in a
 * pty (pty4j) as it would in a terminal emulator; keys are typed as bytes.
 */
@Tag("e2e")
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class TerminalIT {

    @RegisterExtension
    static final LocalClusterFixture cluster = LocalClusterFixture.shared(3);

    @TempDir
    Path tmp;

    @Test
    void aRemoteShellHasARealTerminalWithResizeCtrlCAndExitCode() throws Exception {
        try (var t = new TestTerminal(cluster.cli(1), "run", "-n", "node2", "--", "bash", "--norc", "--noprofile", "-i")) {
            t.await("bash-"); // the remote shell's prompt: the session is up
            t.type("PS1='$ '; echo ready-$((40+2))\r");
            t.await("ready-42");
            t.type("tty; stty size\r");
            t.await("/dev/pts/");
            t.await("24 80");
            t.process.setWinSize(new WinSize(120, 40));
            Thread.sleep(500);
            t.type("stty size\r");
            t.await("40 120");
            t.type("sleep 300\r");
            Thread.sleep(1000);
            t.type("\u0003");
            t.type("echo rc=$?\r");
            t.await("rc=130");
            t.type("sleep 200 & jobs\r");
            t.await("[1]");
            t.type("kill %1; exit 3\r");
            assertEquals(3, t.exit(), t.screen.toString());
        }
    }

    @Test
    void fullScreenAndLineEditingProgramsWork() throws Exception {
        Path file = tmp.resolve("edited.txt");
        String vi = Files.isExecutable(Path.of("/usr/bin/vim.tiny")) ? "vim.tiny" : "vi";
        try (var t = new TestTerminal(cluster.cli(1), "run", "-n", "node3", "--", vi, "-u", "NONE", "-N", file.toString())) {
            Thread.sleep(2000);
            t.type("ihello from vi\u001b");
            Thread.sleep(300);
            t.type(":wq\r");
            assertEquals(0, t.exit(), t.screen.toString());
        }
        assertEquals("hello from vi\n", Files.readString(file));

        try (var t = new TestTerminal(cluster.cli(1), "run", "--", "python3", "-c", "print('got', input('name? '))")) {
            t.await("name? ");
            t.type("gestalt\r");
            t.await("got gestalt");
            assertEquals(0, t.exit(), t.screen.toString());
        }

        try (var t = new TestTerminal(cluster.cli(1), "run", "-n", "node2", "--", "top", "-d", "1")) {
            t.await("load average");
            t.type("q");
            assertEquals(0, t.exit(), t.screen.toString());
        }
    }

    @Test
    void attachToADetachedTerminalAndLeaveWithCtrlBracket() throws Exception {
        var started = cluster.cli(1).run("run", "-d", "-t", "-n", "node2", "--", "bash", "--norc", "--noprofile", "-i");
        assertEquals(0, started.exitCode(), started::describe);
        String gpid = started.out().strip();
        try {
            try (var t = new TestTerminal(cluster.cli(1), "attach", gpid)) {
                Thread.sleep(1500); // attach shows output from now on: there is no prompt to wait for
                t.type("echo attached-$((6*7))\r");
                t.await("attached-42");
                t.type("\u001d");
                assertEquals(0, t.exit(), t.screen.toString());
                t.await("detached");
            }
            // asked until every node answers in time (a loaded machine): the process is listed, running
            Eventually.holds(Duration.ofSeconds(60), "the process keeps running after the detach", () -> {
                var ps = cluster.cli(3).run("ps", "--json");
                return ps.stderr().isEmpty() && TinyJson.rows(ps.out()).stream()
                    .anyMatch(m -> gpid.equals(m.get("gpid")) && !m.containsKey("exit_code"));
            });
            try (var t = new TestTerminal(cluster.cli(1), "attach", gpid)) {
                Thread.sleep(1000);
                t.type("echo again; exit 9\r");
                t.await("again");
                assertEquals(9, t.exit(), "attach ends with the process's code when it exits\n" + t.screen);
            }
        } finally {
            cluster.cli(1).run("kill", "-9", gpid);
        }
    }

    @Test
    void attachToAJobWithoutATerminalSaysSoStreamsItAndCtrlCReachesIt() throws Exception {
        var started = cluster.cli(1).run("run", "-d", "-n", "node2", "--", "sh", "-c",
            "trap 'echo got-INT; exit 3' INT; while :; do echo tick; sleep 0.3; done");
        assertEquals(0, started.exitCode(), started::describe);
        String gpid = started.out().strip();
        try (var t = new TestTerminal(cluster.cli(1), "attach", gpid)) {
            t.await("has no terminal");
            t.await("tick");
            t.type("\u0003"); // the terminal stays cooked: Ctrl-C is SIGINT to the CLI, forwarded to the job
            t.await("got-INT");
            assertEquals(3, t.exit(), "attach ends with the job's code\n" + t.screen);
        } finally {
            cluster.cli(1).run("kill", "-9", gpid);
        }
    }
}

package dev.gestalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.pty4j.PtyProcess;
import com.pty4j.PtyProcessBuilder;
import com.pty4j.WinSize;
import dev.gestalt.testkit.Cli;
import dev.gestalt.testkit.Eventually;
import dev.gestalt.testkit.LocalClusterFixture;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
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

    /** The CLI in a terminal of 80x24, talking to node1. */
    private static final class Terminal implements AutoCloseable {
        final PtyProcess process;
        final StringBuffer screen = new StringBuffer();

        Terminal(String... args) throws IOException {
            var env = new HashMap<>(System.getenv());
            env.putAll(cluster.cli(1).env());
            env.put("TERM", "xterm");
            String[] cmd = new String[args.length + 1];
            cmd[0] = Cli.repoLauncher().toString();
            System.arraycopy(args, 0, cmd, 1, args.length);
            process = new PtyProcessBuilder(cmd).setEnvironment(env).setInitialColumns(80).setInitialRows(24)
                .setDirectory(Cli.repoLauncher().getParent().toString()).start();
            process.setWinSize(new WinSize(80, 24));
            Thread.ofVirtual().start(() -> {
                byte[] buf = new byte[8192];
                try (InputStream in = process.getInputStream()) {
                    int n;
                    while ((n = in.read(buf)) > 0) {
                        screen.append(new String(buf, 0, n, StandardCharsets.UTF_8));
                    }
                } catch (IOException e) {
                    // terminal closed
                }
            });
        }

        void type(String keys) throws IOException {
            process.getOutputStream().write(keys.getBytes(StandardCharsets.UTF_8));
            process.getOutputStream().flush();
        }

        void await(String text) {
            try {
                Eventually.holds(Duration.ofSeconds(40), "the terminal shows '" + text + "'",
                    () -> screen.toString().contains(text));
            } catch (AssertionError e) {
                throw new AssertionError(e.getMessage() + "\n--- screen ---\n" + screen, e);
            }
        }

        int exit() throws InterruptedException {
            assertTrue(process.waitFor(60, TimeUnit.SECONDS), "the CLI ends\n" + screen);
            return process.exitValue();
        }

        @Override
        public void close() {
            process.destroyForcibly();
        }
    }

    @Test
    void aRemoteShellHasARealTerminalWithResizeCtrlCAndExitCode() throws Exception {
        try (var t = new Terminal("run", "-n", "node2", "--", "bash", "--norc", "--noprofile", "-i")) {
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
        try (var t = new Terminal("run", "-n", "node3", "--", vi, "-u", "NONE", "-N", file.toString())) {
            Thread.sleep(2000);
            t.type("ihello from vi\u001b");
            Thread.sleep(300);
            t.type(":wq\r");
            assertEquals(0, t.exit(), t.screen.toString());
        }
        assertEquals("hello from vi\n", Files.readString(file));

        try (var t = new Terminal("run", "--", "python3", "-c", "print('got', input('name? '))")) {
            t.await("name? ");
            t.type("gestalt\r");
            t.await("got gestalt");
            assertEquals(0, t.exit(), t.screen.toString());
        }

        try (var t = new Terminal("run", "-n", "node2", "--", "top", "-d", "1")) {
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
            try (var t = new Terminal("attach", gpid)) {
                Thread.sleep(1500); // attach shows output from now on: there is no prompt to wait for
                t.type("echo attached-$((6*7))\r");
                t.await("attached-42");
                t.type("\u001d");
                assertEquals(0, t.exit(), t.screen.toString());
                t.await("detached");
            }
            var ps = cluster.cli(3).run("ps", "--json");
            assertTrue(ps.out().contains("\"gpid\":\"" + gpid + "\"") && !ps.out().contains("\"exit_code\""),
                "the process keeps running after the detach: " + ps.describe());
            try (var t = new Terminal("attach", gpid)) {
                Thread.sleep(1000);
                t.type("echo again; exit 9\r");
                t.await("again");
                assertEquals(9, t.exit(), "attach ends with the process's code when it exits\n" + t.screen);
            }
        } finally {
            cluster.cli(1).run("kill", "-9", gpid);
        }
    }
}

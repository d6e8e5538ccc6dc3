package dev.gestalt.testkit;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.pty4j.PtyProcess;
import com.pty4j.PtyProcessBuilder;
import com.pty4j.WinSize;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The real CLI in a terminal of 80x24 (a pty, by pty4j), as a terminal emulator runs it: keys
 * are typed as bytes, and {@link #screen} is every byte the terminal received, so a test can
 * tell text written while the terminal was raw ({@code "\n"}) from text written after it was
 * restored ({@code "\r\n"}, the terminal's own translation).
 */
public final class TestTerminal implements AutoCloseable {

    public final PtyProcess process;
    public final StringBuffer screen = new StringBuffer();

    /** {@code gestalt ARGS} in a new terminal, with {@code cli}'s environment added to this process's. */
    public TestTerminal(Cli cli, String... args) throws IOException {
        Map<String, String> env = new HashMap<>(System.getenv());
        env.putAll(cli.env());
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

    public void type(String keys) throws IOException {
        process.getOutputStream().write(keys.getBytes(StandardCharsets.UTF_8));
        process.getOutputStream().flush();
    }

    public void await(String text) {
        await(text, Duration.ofSeconds(40));
    }

    public void await(String text, Duration bound) {
        try {
            Eventually.holds(bound, "the terminal shows '" + text + "'", () -> screen.toString().contains(text));
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "\n--- screen ---\n" + screen, e);
        }
    }

    /** Waits at most {@code bound} for the CLI to end; its exit code. */
    public int exit(Duration bound) throws InterruptedException {
        assertTrue(process.waitFor(bound.toMillis(), TimeUnit.MILLISECONDS), "the CLI ends within " + bound + "\n" + screen);
        return process.exitValue();
    }

    public int exit() throws InterruptedException {
        return exit(Duration.ofSeconds(60));
    }

    @Override
    public void close() {
        process.destroyForcibly();
    }
}

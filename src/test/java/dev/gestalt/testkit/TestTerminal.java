package dev.gestalt.testkit;

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
    /** The cluster's home (GESTALT_HOME), whose node daemons {@link #stuck} describes too; null: none. */
    private final String home;

    /** {@code gestalt ARGS} in a new terminal, with {@code cli}'s environment added to this process's. */
    public TestTerminal(Cli cli, String... args) throws IOException {
        Map<String, String> env = new HashMap<>(System.getenv());
        env.putAll(cli.env());
        env.put("TERM", "xterm");
        home = cli.env().get("GESTALT_HOME");
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
        if (!process.waitFor(bound.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError("the CLI ends within " + bound + "\n--- screen ---\n" + screen + "\n" + stuck());
        }
        return process.exitValue();
    }

    /** What the CLI that does not end is doing: its processes, and the threads of a JVM among them. */
    private String stuck() {
        StringBuilder d = new StringBuilder("--- the CLI's processes ---\n");
        java.util.List<ProcessHandle> all = new java.util.ArrayList<>();
        ProcessHandle.of(process.pid()).ifPresent(all::add);
        all.addAll(ProcessHandle.of(process.pid()).map(h -> h.descendants().toList()).orElse(java.util.List.of()));
        for (ProcessHandle h : all) {
            String cmd = h.info().commandLine().orElse("?");
            d.append(h.pid()).append(' ').append(cmd, 0, Math.min(cmd.length(), 200)).append('\n');
            if (cmd.contains("java")) {
                d.append(threads(h.pid())).append('\n');
            }
        }
        if (home != null) {
            for (long node : Procs.pgrep("dev.gestalt.cli.Main node --config " + home + "/")) {
                String cmd = ProcessHandle.of(node).flatMap(h -> h.info().commandLine()).orElse("?");
                d.append("--- node daemon ").append(node).append(' ').append(cmd, Math.max(0, cmd.length() - 120), cmd.length())
                    .append(": its threads in Gestalt's code ---\n").append(threads(node)).append('\n');
            }
        }
        return d.toString();
    }

    /** The threads of JVM {@code pid} that run Gestalt's code (jcmd Thread.print), at most 30,000 characters. */
    private static String threads(long pid) {
        String all = Procs.exec(20, java.nio.file.Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
            Long.toString(pid), "Thread.print").stdout();
        StringBuilder ours = new StringBuilder();
        for (String thread : all.split("\n\n")) {
            if (thread.contains("dev.gestalt.") && ours.length() < 30_000) {
                ours.append(thread, 0, Math.min(thread.length(), 30_000 - ours.length())).append("\n\n");
            }
        }
        return ours.toString();
    }

    public int exit() throws InterruptedException {
        return exit(Duration.ofSeconds(60));
    }

    @Override
    public void close() {
        process.destroyForcibly();
    }
}

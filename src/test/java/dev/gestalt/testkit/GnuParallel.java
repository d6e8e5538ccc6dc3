package dev.gestalt.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * GNU parallel itself, run locally as the reference that {@code gestalt forall} is checked
 * against: same arguments, stdin, working directory and shell ({@code PARALLEL_SHELL}), its
 * state in a private {@code PARALLEL_HOME}; {@code --will-cite} so it prints no notice.
 */
public final class GnuParallel {

    private final Path home;
    private final Path cwd;
    private final String shell;

    public GnuParallel(Path home, Path cwd, String shell) {
        this.home = home;
        this.cwd = cwd;
        this.shell = shell;
    }

    /** Whether {@code parallel} is installed (scripts/install-deps installs it). */
    public static boolean installed() {
        return Procs.exec(30, "sh", "-c", "command -v parallel").exitCode() == 0;
    }

    /** Runs {@code parallel --will-cite ARGS} with these stdin bytes; bounded to 120 s. */
    public Cli.Result run(byte[] stdin, List<String> args) {
        List<String> cmd = new ArrayList<>(List.of("parallel", "--will-cite"));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(cwd.toFile());
        Map<String, String> env = pb.environment();
        env.put("PARALLEL_HOME", home.toString());
        env.put("PARALLEL_SHELL", shell);
        try {
            Process p = pb.start();
            byte[][] got = new byte[2][];
            Thread o = Thread.ofPlatform().daemon().start(() -> got[0] = readAll(p.getInputStream()));
            Thread e = Thread.ofPlatform().daemon().start(() -> got[1] = readAll(p.getErrorStream()));
            Thread.ofPlatform().daemon().start(() -> {
                try (OutputStream in = p.getOutputStream()) {
                    in.write(stdin);
                } catch (IOException ignored) {
                    // parallel did not read it all
                }
            });
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                throw new AssertionError("parallel " + args + " did not end within 120 s");
            }
            o.join(10_000);
            e.join(10_000);
            return new Cli.Result(cmd, p.exitValue(), got[0], got[1]);
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new AssertionError(ex);
        }
    }

    private static byte[] readAll(InputStream in) {
        try (in) {
            return in.readAllBytes();
        } catch (IOException e) {
            return new byte[0];
        }
    }
}

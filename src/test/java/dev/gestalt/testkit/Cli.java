package dev.gestalt.testkit;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The real {@code ./gestalt} launcher run as a child process, the way a user's
 * shell runs it: its own environment ({@code GESTALT_HOME}, {@code GESTALT_NODE}),
 * working directory, optional stdin, and default signal dispositions (so a test
 * JVM started from a background job, with SIGINT ignored, still tests Ctrl-C).
 * Every wait is bounded: a CLI that does not end in time is killed with its
 * descendants and the test fails with what it printed so far.
 *
 * <p>Immutable: the {@code with*} methods return a changed copy.
 */
public final class Cli {

    /** Default bound on one CLI call. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(90);

    private final Path launcher;
    private final Map<String, String> env;
    private final Path cwd;
    private final Duration timeout;
    private final List<String> prefix;

    private Cli(Path launcher, Map<String, String> env, Path cwd, Duration timeout, List<String> prefix) {
        this.launcher = launcher;
        this.env = Map.copyOf(env);
        this.cwd = cwd;
        this.timeout = timeout;
        this.prefix = List.copyOf(prefix);
    }

    /** A CLI with this process's environment minus any {@code GESTALT_*} variable. */
    public static Cli of(Path launcher) {
        Map<String, String> env = new HashMap<>(System.getenv());
        env.keySet().removeIf(k -> k.startsWith("GESTALT_"));
        return new Cli(launcher, env, launcher.getParent(), DEFAULT_TIMEOUT, List.of());
    }

    /** The repository's {@code ./gestalt}: system property {@code gestalt.root}, else the working directory. */
    public static Path repoLauncher() {
        Path root = Path.of(System.getProperty("gestalt.root", System.getProperty("user.dir"))).toAbsolutePath();
        return root.resolve("gestalt");
    }

    public Cli withEnv(String key, String value) {
        Map<String, String> e = new HashMap<>(env);
        if (value == null) {
            e.remove(key);
        } else {
            e.put(key, value);
        }
        return new Cli(launcher, e, cwd, timeout, prefix);
    }

    public Cli withoutEnv(String key) {
        return withEnv(key, null);
    }

    public Cli withCwd(Path dir) {
        return new Cli(launcher, env, dir, timeout, prefix);
    }

    public Cli withTimeout(Duration t) {
        return new Cli(launcher, env, cwd, t, prefix);
    }

    /** Runs the launcher under a command prefix, e.g. {@code setpriv --reuid U ...}, which must exec it. */
    public Cli withPrefix(String... command) {
        return new Cli(launcher, env, cwd, timeout, Arrays.asList(command));
    }

    public Map<String, String> env() {
        return env;
    }

    public Path cwd() {
        return cwd;
    }

    /** Runs {@code gestalt ARGS} with stdin at EOF (empty) and waits for it. */
    public Result run(String... args) {
        return call(args).run();
    }

    /** Runs {@code gestalt ARGS} with these stdin bytes, then EOF. */
    public Result run(byte[] stdin, String... args) {
        return call(args).stdin(stdin).run();
    }

    /** Starts {@code gestalt ARGS} in the background (stdin kept open until {@link Running#closeStdin}). */
    public Running start(String... args) {
        return call(args).keepStdinOpen().start();
    }

    public Call call(String... args) {
        return new Call(List.of(args));
    }

    /** What a finished CLI call did. */
    public record Result(List<String> args, int exitCode, byte[] stdout, byte[] stderrBytes) {

        public String out() {
            return new String(stdout, StandardCharsets.UTF_8);
        }

        /** Stderr as text (UTF-8); {@link #stderrBytes} for binary checks. */
        public String stderr() {
            return new String(stderrBytes, StandardCharsets.UTF_8);
        }

        /** For assertion messages. */
        public String describe() {
            String o = out();
            return "gestalt " + String.join(" ", args) + " -> exit " + exitCode
                + "\n--- stdout ---\n" + (o.length() > 4000 ? o.substring(0, 4000) + "..." : o)
                + "\n--- stderr ---\n" + stderr();
        }

        @Override
        public String toString() {
            return describe();
        }
    }

    /** One call being prepared: stdin, stdout redirection, timeout. */
    public final class Call {
        private final List<String> args;
        private byte[] stdinBytes = new byte[0];
        private Path stdinFile;
        private Path stdoutFile;
        private boolean keepStdinOpen;
        private Duration callTimeout = timeout;

        private Call(List<String> args) {
            this.args = args;
        }

        public Call stdin(byte[] bytes) {
            this.stdinBytes = bytes;
            return this;
        }

        public Call stdin(Path file) {
            this.stdinFile = file;
            return this;
        }

        /** Sends stdout to a file instead of memory (for large outputs); Result.stdout is then empty. */
        public Call stdoutTo(Path file) {
            this.stdoutFile = file;
            return this;
        }

        public Call keepStdinOpen() {
            this.keepStdinOpen = true;
            return this;
        }

        public Call timeout(Duration t) {
            this.callTimeout = t;
            return this;
        }

        public Result run() {
            return start().await(callTimeout);
        }

        public Running start() {
            List<String> cmd = new ArrayList<>(prefix);
            cmd.add("env");
            cmd.add("--default-signal");
            cmd.add(launcher.toString());
            cmd.addAll(args);
            ProcessBuilder pb = new ProcessBuilder(cmd).directory(cwd.toFile());
            pb.environment().clear();
            pb.environment().putAll(env);
            if (stdinFile != null) {
                pb.redirectInput(stdinFile.toFile());
            }
            if (stdoutFile != null) {
                pb.redirectOutput(stdoutFile.toFile());
            }
            try {
                Process p = pb.start();
                Running r = new Running(args, p, stdoutFile == null);
                if (stdinFile == null && !keepStdinOpen) {
                    r.feed(stdinBytes);
                }
                return r;
            } catch (IOException e) {
                throw new UncheckedIOException("cannot start " + cmd, e);
            }
        }
    }

    /** A CLI process that is still running. */
    public static final class Running {
        private final List<String> args;
        private final Process process;
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();
        private final ByteArrayOutputStream err = new ByteArrayOutputStream();
        private final Thread outPump;
        private final Thread errPump;

        Running(List<String> args, Process process, boolean captureStdout) {
            this.args = args;
            this.process = process;
            this.outPump = captureStdout ? pump(process.getInputStream(), out, "cli-stdout") : null;
            this.errPump = pump(process.getErrorStream(), err, "cli-stderr");
        }

        private static Thread pump(InputStream in, ByteArrayOutputStream sink, String name) {
            return Thread.ofPlatform().daemon().name(name).start(() -> {
                byte[] buf = new byte[64 * 1024];
                try (in) {
                    for (int n; (n = in.read(buf)) > 0; ) {
                        synchronized (sink) {
                            sink.write(buf, 0, n);
                        }
                    }
                } catch (IOException e) {
                    // the process ended
                }
            });
        }

        void feed(byte[] bytes) {
            Thread.ofPlatform().daemon().name("cli-stdin").start(() -> {
                try (OutputStream o = process.getOutputStream()) {
                    o.write(bytes);
                } catch (IOException e) {
                    // the CLI ended without reading it all
                }
            });
        }

        public long pid() {
            return process.pid();
        }

        public boolean isAlive() {
            return process.isAlive();
        }

        public void writeStdin(byte[] bytes) {
            try {
                process.getOutputStream().write(bytes);
                process.getOutputStream().flush();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        public void closeStdin() {
            try {
                process.getOutputStream().close();
            } catch (IOException e) {
                // already closed
            }
        }

        /** Sends a signal (name without SIG, e.g. "INT") to the CLI process. */
        public void signal(String name) {
            Procs.signal(process.pid(), name);
        }

        public String stdoutSoFar() {
            synchronized (out) {
                return out.toString(StandardCharsets.UTF_8);
            }
        }

        public String stderrSoFar() {
            synchronized (err) {
                return err.toString(StandardCharsets.UTF_8);
            }
        }

        /** Waits for the CLI to end; past the timeout it is killed and the test fails. */
        public Result await(Duration timeout) {
            try {
                if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    process.descendants().forEach(ProcessHandle::destroyForcibly);
                    process.destroyForcibly();
                    process.waitFor(10, TimeUnit.SECONDS);
                    throw new AssertionError("gestalt " + String.join(" ", args) + " did not end within " + timeout
                        + "\n--- stdout so far ---\n" + tail(stdoutSoFar()) + "\n--- stderr so far ---\n" + tail(stderrSoFar()));
                }
                if (outPump != null) {
                    outPump.join(10_000);
                }
                errPump.join(10_000);
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted while waiting for gestalt " + args, e);
            }
            byte[] o;
            byte[] e;
            synchronized (out) {
                o = out.toByteArray();
            }
            synchronized (err) {
                e = err.toByteArray();
            }
            return new Result(args, process.exitValue(), o, e);
        }

        private static String tail(String s) {
            return s.length() > 4000 ? "..." + s.substring(s.length() - 4000) : s;
        }
    }

    @Override
    public String toString() {
        return "Cli[" + launcher + ", GESTALT_HOME=" + env.get("GESTALT_HOME") + ", GESTALT_NODE="
            + env.get("GESTALT_NODE") + (prefix.isEmpty() ? "" : ", prefix=" + prefix) + "]";
    }
}

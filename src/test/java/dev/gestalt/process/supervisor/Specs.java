package dev.gestalt.process.supervisor;

import dev.gestalt.os.Limit;
import dev.gestalt.os.Posix;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

/** Launch specs and small waiting helpers for the supervisor tests. */
final class Specs {
    private static final AtomicInteger SEQ = new AtomicInteger();
    static final Map<String, String> ENV = Map.of("PATH", "/usr/bin:/bin", "LANG", "C.UTF-8");

    private Specs() {}

    static String gpid() {
        return "t" + ProcessHandle.current().pid() + "-" + SEQ.incrementAndGet();
    }

    /** A plain job as the current user, in /tmp, with the given argv. */
    static LaunchSpec of(String... argv) {
        return builder(argv).build();
    }

    static Builder builder(String... argv) {
        return new Builder(List.of(argv));
    }

    /** Mutable spec for tests that change one field. */
    static final class Builder {
        List<String> argv;
        Map<String, String> env = ENV;
        Path cwd = Path.of("/tmp");
        int uid = Posix.geteuid();
        int gid = Posix.getegid();
        int[] groups = {Posix.getegid()};
        String user = "root";
        int umask = 022;
        List<Limit> limits = List.of();
        boolean tty;
        int cols = 80;
        int rows = 24;
        boolean detached;

        Builder(List<String> argv) {
            this.argv = argv;
        }

        Builder env(Map<String, String> e) { env = e; return this; }
        Builder cwd(Path p) { cwd = p; return this; }
        Builder umask(int m) { umask = m; return this; }
        Builder limits(List<Limit> l) { limits = l; return this; }
        Builder tty(int c, int r) { tty = true; cols = c; rows = r; return this; }
        Builder detached() { detached = true; return this; }
        Builder as(int u, int g, int[] gs, String name) { uid = u; gid = g; groups = gs; user = name; return this; }

        LaunchSpec build() {
            return new LaunchSpec(gpid(), argv, env, cwd, uid, gid, groups, user, umask, limits,
                    tty, cols, rows, detached);
        }
    }

    /** Waits for the exit code, at most a minute. */
    static int exitOf(Job job) throws Exception {
        try {
            return job.exit().get(60, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            // Say what the program was doing: its state and signal masks (a blocked or ignored
            // signal is the usual reason a ^C or a kill did not end it).
            String status;
            try {
                status = java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/" + job.pid() + "/status")).stream()
                        .filter(l -> l.matches("(Name|State|Sig\\w+|ShdPnd|NSpid):.*")).toList().toString();
            } catch (IOException gone) {
                status = "gone from /proc";
            }
            throw new AssertionError("job " + job.gpid() + " (pid " + job.pid() + ") still running after 60 s: " + status, e);
        }
    }

    static String text(InputStream in) throws IOException {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }

    /** Polls until the condition holds, failing after the timeout. */
    static void await(String what, Duration timeout, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what + " (stats of this machine: "
                        + readQuietly("/proc/loadavg") + ")");
            }
            Thread.sleep(50);
        }
    }

    private static String readQuietly(String file) {
        try {
            return java.nio.file.Files.readString(Path.of(file)).strip();
        } catch (IOException e) {
            return e.toString();
        }
    }

    /** Reads a pty or pipe until {@code expected} appears; returns all that was read. */
    static String readUntil(InputStream in, String expected, Duration timeout) throws Exception {
        ByteArrayOutputStream seen = new ByteArrayOutputStream();
        Thread reader = Thread.ofVirtual().start(() -> {
            byte[] buf = new byte[4096];
            try {
                int n;
                while ((n = in.read(buf)) > 0) {
                    synchronized (seen) {
                        seen.write(buf, 0, n);
                        if (seen.toString(StandardCharsets.UTF_8).contains(expected)) {
                            return;
                        }
                    }
                }
            } catch (IOException e) {
                // closed: the caller sees what was read
            }
        });
        reader.join(timeout);
        synchronized (seen) {
            String s = seen.toString(StandardCharsets.UTF_8);
            if (!s.contains(expected)) {
                throw new AssertionError("expected " + expected + " in output, got: " + s);
            }
            return s;
        }
    }
}

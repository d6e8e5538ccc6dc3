package dev.gestalt.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Operating-system helpers for tests: signals, pgrep, running a short command with a bound. */
public final class Procs {

    private Procs() {}

    /** What a helper command did. */
    public record Exec(int exitCode, String stdout, String stderr) {}

    /** Runs a short command (e.g. useradd) and waits at most {@code seconds}; fails the test past it. */
    public static Exec exec(int seconds, String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            byte[][] bufs = new byte[2][];
            Thread o = Thread.ofPlatform().daemon().start(() -> bufs[0] = readAll(p.getInputStream()));
            Thread e = Thread.ofPlatform().daemon().start(() -> bufs[1] = readAll(p.getErrorStream()));
            if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError(String.join(" ", command) + " did not end within " + seconds + " s");
            }
            o.join(5000);
            e.join(5000);
            return new Exec(p.exitValue(), str(bufs[0]), str(bufs[1]));
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new AssertionError(ex);
        }
    }

    private static byte[] readAll(java.io.InputStream in) {
        try (in) {
            return in.readAllBytes();
        } catch (IOException e) {
            return new byte[0];
        }
    }

    private static String str(byte[] b) {
        return b == null ? "" : new String(b, StandardCharsets.UTF_8);
    }

    /** Sends signal NAME (e.g. "INT", "KILL") to pid. */
    public static void signal(long pid, String name) {
        Exec r = exec(10, "kill", "-s", name, Long.toString(pid));
        if (r.exitCode() != 0) {
            throw new AssertionError("kill -s " + name + " " + pid + ": " + r.stderr());
        }
    }

    public static boolean alive(long pid) {
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    /** Pids of the processes whose full command line matches this extended regex ({@code pgrep -f}). */
    public static List<Long> pgrep(String pattern) {
        Exec r = exec(10, "pgrep", "-f", "--", pattern);
        List<Long> pids = new ArrayList<>();
        for (String line : r.stdout().split("\n")) {
            if (!line.isBlank()) {
                pids.add(Long.parseLong(line.trim()));
            }
        }
        return pids;
    }

    /** Pids of the processes whose command line (arguments joined by spaces) contains {@code text}. */
    public static List<Long> withCommandLine(String text) {
        List<Long> pids = new ArrayList<>();
        try (var all = java.nio.file.Files.list(java.nio.file.Path.of("/proc"))) {
            for (var dir : (Iterable<java.nio.file.Path>) all::iterator) {
                String name = dir.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                try {
                    byte[] raw = java.nio.file.Files.readAllBytes(dir.resolve("cmdline"));
                    if (new String(raw, StandardCharsets.UTF_8).replace('\0', ' ').contains(text)) {
                        pids.add(Long.parseLong(name));
                    }
                } catch (IOException e) {
                    // gone meanwhile
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return pids;
    }
}

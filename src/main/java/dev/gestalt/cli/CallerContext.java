package dev.gestalt.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What the CLI reads of its own process to reproduce it remotely: umask,
 * resource limits, which of its fds are terminals. All from /proc, without
 * FFM: the first native downcall costs a JVM about 100 ms, more than the
 * rest of a {@code gestalt run}.
 */
final class CallerContext {

    private CallerContext() {}

    /** The umask, from the "Umask:" line of /proc/self/status (022 if unreadable). */
    static int umask() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Umask:")) {
                    return Integer.parseInt(line.substring(6).trim(), 8);
                }
            }
        } catch (IOException | NumberFormatException e) {
            // fall through
        }
        return 022;
    }

    /**
     * The resource limits as (resource, soft, hard) triples, -1 for unlimited,
     * from /proc/self/limits (its rows are in RLIMIT order).
     */
    static long[] limits() {
        List<long[]> rows = new ArrayList<>();
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/self/limits"));
            for (int i = 1; i < lines.size(); i++) {
                String line = lines.get(i);
                if (line.length() < 27) {
                    continue;
                }
                String[] f = line.substring(26).trim().split("\\s+");
                if (f.length < 2) {
                    continue;
                }
                rows.add(new long[] {i - 1, value(f[0]), value(f[1])});
            }
        } catch (IOException | NumberFormatException e) {
            return new long[0];
        }
        long[] out = new long[rows.size() * 3];
        for (int i = 0; i < rows.size(); i++) {
            System.arraycopy(rows.get(i), 0, out, 3 * i, 3);
        }
        return out;
    }

    private static long value(String s) {
        return s.equals("unlimited") ? -1 : Long.parseLong(s);
    }

    /** Whether fd is a terminal: what /proc/self/fd/FD points to. */
    static boolean isTerminal(int fd) {
        try {
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty") || target.equals("/dev/console");
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }
}

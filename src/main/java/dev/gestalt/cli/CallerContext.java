package dev.gestalt.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
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
            String status = read("/proc/self/status");
            int at = status.indexOf("\nUmask:");
            if (at >= 0) {
                int end = status.indexOf('\n', at + 1);
                return Integer.parseInt(status.substring(at + 7, end < 0 ? status.length() : end).trim(), 8);
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
        // Parsed by hand: a regex or a Reader costs the CLI's one-shot JVM a millisecond or two.
        List<long[]> rows = new ArrayList<>();
        try {
            String text = read("/proc/self/limits");
            int row = -1;
            for (int start = 0, end; start < text.length(); start = end + 1) {
                end = text.indexOf('\n', start);
                if (end < 0) {
                    end = text.length();
                }
                if (row++ < 0 || end - start < 27) {
                    continue; // the header; a short line
                }
                String[] f = fields(text, start + 26, end);
                if (f != null) {
                    rows.add(new long[] {row - 1, value(f[0]), value(f[1])});
                }
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

    /** The first two space-separated fields of text[from, to), or null. */
    private static String[] fields(String text, int from, int to) {
        String[] f = new String[2];
        int i = from;
        for (int k = 0; k < 2; k++) {
            while (i < to && text.charAt(i) == ' ') {
                i++;
            }
            int s = i;
            while (i < to && text.charAt(i) != ' ') {
                i++;
            }
            if (s == i) {
                return null;
            }
            f[k] = text.substring(s, i);
        }
        return f;
    }

    private static String read(String procFile) throws IOException {
        return new String(Files.readAllBytes(Path.of(procFile)), StandardCharsets.ISO_8859_1);
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

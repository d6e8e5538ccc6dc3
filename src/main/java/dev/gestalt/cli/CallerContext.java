package dev.gestalt.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What the CLI reads of its own process to reproduce it remotely: umask and
 * which of its fds are terminals (its limits and groups the node reads from
 * the kernel). All from /proc, without
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

    private static String read(String procFile) throws IOException {
        return new String(Files.readAllBytes(Path.of(procFile)), StandardCharsets.ISO_8859_1);
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

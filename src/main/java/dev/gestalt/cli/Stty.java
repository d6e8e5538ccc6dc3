package dev.gestalt.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The CLI's terminal handling through stty(1) on its own stdin: window size,
 * raw mode and its restoration. A fork of stty costs a few milliseconds; the
 * FFM equivalent costs the CLI's JVM ~100 ms on first use, so interactive
 * sessions start faster this way.
 */
final class Stty {

    private Stty() {}

    /** {cols, rows} of the terminal on stdin, or {0, 0}. */
    static int[] size() {
        try {
            String[] f = run("size").trim().split("\\s+");
            return new int[] {Integer.parseInt(f[1]), Integer.parseInt(f[0])};
        } catch (IOException | RuntimeException e) {
            return new int[] {0, 0};
        }
    }

    /** Puts the terminal in raw mode; the returned handle restores the saved settings once. */
    static Restore raw() throws IOException {
        String saved = run("-g").trim();
        run("raw", "-echo");
        return new Restore(saved);
    }

    /** The saved settings of a terminal in raw mode. */
    static final class Restore implements AutoCloseable {
        private final String saved;
        private boolean done;

        private Restore(String saved) {
            this.saved = saved;
        }

        @Override
        public synchronized void close() {
            if (!done) {
                done = true;
                try {
                    run(saved);
                } catch (IOException e) {
                    // the terminal is gone
                }
            }
        }
    }

    private static String run(String... args) throws IOException {
        var cmd = new java.util.ArrayList<>(List.of("stty"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.INHERIT)
            .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        byte[] out = p.getInputStream().readAllBytes();
        try {
            if (p.waitFor() != 0) {
                throw new IOException("stty " + String.join(" ", args) + " failed");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
        return new String(out, StandardCharsets.US_ASCII);
    }
}

package dev.gestalt.testkit;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.function.IntFunction;

/**
 * The node logs of a {@link LocalClusterFixture}: their last lines for a failure message, what
 * each node wrote during one test (a test that failed shows it: a rare failure on CI, which keeps
 * no files, can then be read from its output), and their copies kept after the cluster stops.
 */
final class NodeLogs {
    /** At most this much of each node's log goes into a failure (its end: the failure is there). */
    private static final int MAX_BYTES_PER_NODE = 12 * 1024;

    private final int nodes;
    private final IntFunction<Path> log;
    /** Each node's log size when the current test began (index 1..nodes); null: no test yet. */
    private long[] marks;

    NodeLogs(int nodes, IntFunction<Path> log) {
        this.nodes = nodes;
        this.log = log;
    }

    /** A test begins: what the nodes write from now on is its part of their logs. */
    void mark() {
        long[] m = new long[nodes + 1];
        for (int i = 1; i <= nodes; i++) {
            try {
                m[i] = Files.size(log.apply(i));
            } catch (IOException e) {
                m[i] = 0; // not written yet
            }
        }
        marks = m;
    }

    /**
     * What every node logged since {@link #mark} (its last {@value #MAX_BYTES_PER_NODE} bytes),
     * as an exception to add to a test's failure; null before any mark.
     */
    Throwable sinceMark() {
        long[] m = marks;
        if (m == null) {
            return null;
        }
        StringBuilder sb = new StringBuilder("what the nodes logged during this test:\n");
        for (int i = 1; i <= nodes; i++) {
            Path p = log.apply(i);
            sb.append("--- ").append(p).append(" ---\n");
            try (var f = new RandomAccessFile(p.toFile(), "r")) {
                long from = Math.max(m[i], f.length() - MAX_BYTES_PER_NODE);
                byte[] b = new byte[(int) Math.max(0, f.length() - from)];
                f.seek(from);
                f.readFully(b);
                if (from > m[i]) {
                    sb.append("[... ").append(from - m[i]).append(" bytes before]\n");
                }
                sb.append(new String(b, StandardCharsets.UTF_8));
            } catch (IOException e) {
                sb.append("(").append(e).append(")\n");
            }
        }
        return new Logged(sb.toString());
    }

    /** What the nodes logged, added to a failure: only its text (no stack). */
    static final class Logged extends Throwable {
        Logged(String text) {
            super(text, null, false, false);
        }
    }

    /** The last lines of every node's log, for failure messages. */
    String tails() {
        StringBuilder sb = new StringBuilder();
        for (int i = 1; i <= nodes; i++) {
            sb.append("--- ").append(log.apply(i)).append(" ---\n");
            try {
                List<String> lines = Files.readAllLines(log.apply(i));
                lines.subList(Math.max(0, lines.size() - 15), lines.size()).forEach(l -> sb.append(l).append('\n'));
            } catch (IOException e) {
                sb.append("(").append(e).append(")\n");
            }
        }
        return sb.toString();
    }

    /** Copies every node's log, and those of its file-space engines, to {@code target}. */
    void keep(Path target) {
        try {
            Files.createDirectories(target);
            for (int i = 1; i <= nodes; i++) {
                Path l = log.apply(i);
                if (Files.exists(l)) {
                    Files.copy(l, target.resolve(LocalClusterFixture.nodeName(i) + ".log"), StandardCopyOption.REPLACE_EXISTING);
                }
                Path engines = l.resolveSibling("state").resolve("files").resolve("run");
                if (Files.isDirectory(engines)) {
                    try (var logs = Files.list(engines)) {
                        for (Path e : logs.filter(f -> f.toString().endsWith(".log")).toList()) {
                            Files.copy(e, target.resolve(LocalClusterFixture.nodeName(i) + "-" + e.getFileName()),
                                StandardCopyOption.REPLACE_EXISTING);
                        }
                    }
                }
            }
        } catch (IOException e) {
            System.err.println("cannot keep the node logs in " + target + ": " + e);
        }
    }
}

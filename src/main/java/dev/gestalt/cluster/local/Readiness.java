package dev.gestalt.cluster.local;

import dev.gestalt.format.JsonReader;
import dev.gestalt.rpc.local.LocalClient;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What {@code cluster up} waits for before it says a local cluster is up: every daemon answers on
 * its socket, every node sees and reaches every other, and (root clusters) every node has the file
 * space mounted; a node that stops meanwhile is named at once, with the end of its log.
 */
final class Readiness {

    /** How long {@code up} waits for every daemon to answer on its socket (a JVM starts slowly on a loaded machine). */
    static final long START_MILLIS = 120_000;
    /** How long {@code up} then waits for every node to see and reach every other. */
    static final long CONVERGE_MILLIS = 60_000;
    /** How long it then waits for every node to have the file space mounted. */
    static final long FILES_MILLIS = 90_000;

    private final LocalLayout layout;
    private final PrintStream err;

    Readiness(LocalLayout layout, PrintStream err) {
        this.layout = layout;
        this.err = err;
    }

    /**
     * Waits until the cluster is ready: every node sees every other one, and a query from every
     * node reaches every node ({@code ps} without a node that "did not answer"), so that what
     * {@code up} says is up works at once. Returns null then, else one line saying why not: a node
     * that stopped meanwhile is named at once (with the end of its log); a daemon that does not
     * open its socket within {@link #START_MILLIS}, or a cluster not ready {@link #CONVERGE_MILLIS}
     * after all daemons answered, is reported with what is still missing. Two bounds, because a
     * JVM's start on a loaded machine says nothing about the cluster.
     */
    String awaitReady(List<LocalNode> nodes) throws InterruptedException {
        long deadline = System.currentTimeMillis() + START_MILLIS;
        boolean started = false;
        String missing = "no node answered yet";
        while (System.currentTimeMillis() < deadline) {
            List<LocalNode> stopped = nodes.stream().filter(n -> !n.started()).toList();
            if (!stopped.isEmpty()) {
                for (LocalNode n : stopped) {
                    err.println("gestalt cluster: " + n.name() + " stopped while the cluster was starting; the end of "
                        + layout.log(n.index()) + ":");
                    tail(layout.log(n.index()));
                }
                return String.join(", ", stopped.stream().map(LocalNode::name).toList()) + " stopped; the cluster is not up";
            }
            if (!started) {
                var silent = nodes.stream().filter(n -> !n.answers()).map(LocalNode::name).toList();
                if (silent.isEmpty()) {
                    started = true;
                    deadline = System.currentTimeMillis() + CONVERGE_MILLIS;
                } else {
                    missing = String.join(", ", silent) + " did not open " + (silent.size() == 1 ? "its socket" : "their sockets")
                        + " within " + START_MILLIS / 1000 + " s";
                }
            }
            if (started) {
                missing = missing(nodes);
                if (missing == null) {
                    return null;
                }
            }
            Thread.sleep(200);
        }
        return (started ? "the cluster was not ready " + CONVERGE_MILLIS / 1000 + " s after its daemons started: " : "")
            + missing + "; see the logs in " + layout.dir() + "/node*/node.log";
    }

    /** What keeps the cluster from being ready, or null. */
    private static String missing(List<LocalNode> nodes) {
        for (LocalNode n : nodes) {
            String why = seesAll(n, nodes.size());
            if (why != null) {
                return why;
            }
        }
        for (LocalNode n : nodes) {
            try {
                var r = LocalClient.call(n.socket(), "ps", List.of("--json"));
                if (r.exitCode() != 0 || !r.stderr().isEmpty()) {
                    return "queries from " + n.name() + " do not reach every node yet ("
                        + r.stderr().lines().findFirst().orElse("exit " + r.exitCode()) + ")";
                }
            } catch (IOException e) {
                return n.name() + " does not answer on its socket";
            }
        }
        return null;
    }

    private void tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            lines.subList(Math.max(0, lines.size() - 5), lines.size()).forEach(l -> err.println("  " + l));
        } catch (IOException e) {
            err.println("  (no log: " + e.getMessage() + ")");
        }
    }

    /** Waits until every node says it has the file space mounted. */
    boolean awaitFiles(List<LocalNode> nodes) throws InterruptedException {
        long deadline = System.currentTimeMillis() + FILES_MILLIS;
        while (System.currentTimeMillis() < deadline) {
            if (nodes.stream().allMatch(Readiness::mountedOn)) {
                return true;
            }
            Thread.sleep(250);
        }
        return false;
    }

    private static boolean mountedOn(LocalNode n) {
        try {
            var r = LocalClient.call(n.socket(), "fs", List.of("status", "--json"));
            if (r.exitCode() != 0 || !(JsonReader.parse(r.stdout()) instanceof Map<?, ?> st)) {
                return false;
            }
            if ("none".equals(st.get("engine"))) {
                return true;
            }
            return st.get("nodes") instanceof List<?> rows && rows.stream().anyMatch(o -> o instanceof Map<?, ?> m
                && n.name().equals(m.get("name")) && Boolean.TRUE.equals(m.get("mounted")));
        } catch (IOException | IllegalArgumentException e) {
            return false;
        }
    }

    private static int count(String text, String what) {
        int n = 0;
        for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + 1)) {
            n++;
        }
        return n;
    }

    /** Null if node {@code n} sees {@code count} nodes up, else what it sees. */
    private static String seesAll(LocalNode n, int count) {
        try {
            var r = LocalClient.call(n.socket(), "nodes", List.of("--json"));
            if (r.exitCode() != 0) {
                return n.name() + " does not list the nodes yet";
            }
            int up = count(r.stdout(), "\"state\":\"up\"") + count(r.stdout(), "\"state\":\"draining\""); // drained nodes are up
            return up >= count ? null : n.name() + " sees " + up + " of " + count + " nodes up";
        } catch (IOException e) {
            return n.name() + " does not answer on its socket";
        }
    }
}

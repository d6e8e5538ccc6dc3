package dev.gestalt.cli;

import dev.gestalt.cluster.local.LocalCluster;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code gestalt demo}: the main path in one command — a local cluster, a
 * forall across it, detached processes spread over the nodes, and the
 * cluster-wide nodes and ps views. The cluster is left up.
 */
public final class Demo {

    private final Path home;
    private final PrintStream out;
    private final PrintStream err;

    public Demo(Path home, PrintStream out, PrintStream err) {
        this.home = home;
        this.out = out;
        this.err = err;
    }

    public int run(int nodes) throws Exception {
        var cluster = new LocalCluster(home, "local", out, err);
        boolean root = "root".equals(System.getProperty("user.name"));
        out.println("== Starting a local cluster of " + nodes + " nodes (real daemons, mutual TLS, "
            + (root ? "each on a host of its own, with the file space at /gestalt)" : "on loopback)"));
        int up = cluster.up(nodes, true);
        if (up != 0) {
            return up;
        }
        Map<String, String> env = new HashMap<>(System.getenv());
        env.remove("GESTALT_NODE");
        env.put("GESTALT_HOME", home.toString());
        step(env, "nodes");
        step(env, "forall", "--tag", "-j", "6", "--", "sleep 0.3; echo square of {} is $(( {} * {} ))",
            ":::", "1", "2", "3", "4", "5", "6");
        for (int i = 0; i < nodes; i++) {
            step(env, "run", "-d", "--", "sleep", "600");
        }
        step(env, "ps");
        step(env, "run", "--explain", "--", "uname", "-sr");
        step(env, "fs", "status");
        if (root && nodes > 1) {
            step(env, "run", "-n", "node1", "--", "sh", "-c", "echo written on node1 > /gestalt/hello");
            step(env, "run", "-n", "node" + nodes, "--", "cat", "/gestalt/hello");
        }
        out.println();
        out.println("The cluster is still up. Next:");
        out.println("  ./gestalt run -- bash -c 'echo hello from $$'   # your shell, on the least-loaded node");
        out.println("  ./gestalt run -t -- bash                        # a remote terminal; exit to come back");
        out.println("  ./gestalt kill -s KILL GPID                     # GPIDs are in 'gestalt ps'");
        out.println("  ./gestalt top                                   # live view (Ctrl-C quits)");
        out.println("  ./gestalt cluster down --force                  # stop the daemons (and the sleeps above)");
        return 0;
    }

    private void step(Map<String, String> env, String... args) {
        out.println();
        out.println("$ gestalt " + String.join(" ", quoteAll(List.of(args))));
        out.flush();
        int code = Main.run(args, env, out, err);
        out.flush();
        if (code != 0) {
            out.println("(exit code " + code + ")");
        }
    }

    private static List<String> quoteAll(List<String> args) {
        return args.stream().map(a -> a.matches("[A-Za-z0-9_./:{}=-]+") ? a : "'" + a.replace("'", "'\\''") + "'").toList();
    }
}

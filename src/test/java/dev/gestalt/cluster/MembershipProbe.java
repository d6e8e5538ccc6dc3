package dev.gestalt.cluster;

import dev.gestalt.security.NodeCredentials;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Runs one member from a shell, for failure tests across real processes ({@code kill -9},
 * {@code kill -STOP}). Prints one line per view change ({@code VIEW t=<ms> members=[..]
 * joined=[..] left=[..]}) and, every second, one line per load-table row; exits on SIGTERM
 * after leaving gracefully.
 *
 * <pre>
 * java -cp ... dev.gestalt.cluster.MembershipProbe NAME ID BIND_HOST:PORT CREDS_DIR [SEED_HOST:PORT ...]
 * </pre>
 * The cluster name is {@code gestalt} unless {@code GESTALT_CLUSTER} is set.
 */
public final class MembershipProbe {

    private MembershipProbe() {}

    public static void main(String[] args) throws Exception {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs until the JVM is asked to stop; returns 2 on bad usage. */
    static int run(String[] args, PrintStream out, PrintStream err) throws Exception {
        if (args.length < 4) {
            err.println("usage: MembershipProbe NAME ID BIND_HOST:PORT CREDS_DIR [SEED_HOST:PORT ...]");
            return 2;
        }
        String name = args[0];
        int id = Integer.parseInt(args[1]);
        InetSocketAddress bind = hostPort(args[2]);
        var creds = new NodeCredentials(Path.of(args[3]));
        if (!creds.exists()) {
            err.println("no credentials in " + args[3]);
            return 2;
        }
        List<InetSocketAddress> seeds = new ArrayList<>();
        for (int i = 4; i < args.length; i++) {
            seeds.add(hostPort(args[i]));
        }
        String cluster = System.getenv().getOrDefault("GESTALT_CLUSTER", "gestalt");
        var cfg = new MembershipConfig(cluster, name, id, bind.getHostString(), bind.getPort(), seeds, creds,
                "", MembershipConfig.DEFAULT_GOSSIP);
        long t0 = System.currentTimeMillis();
        var done = new CountDownLatch(1);
        Membership m = Membership.start(cfg, () -> localReport(name, id),
                (members, joined, left) -> out.printf("VIEW t=%d members=%s joined=%s left=%s%n",
                        System.currentTimeMillis(), members, joined, left));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            m.close();
            done.countDown();
        }));
        out.printf("STARTED %s in %d ms%n", name, System.currentTimeMillis() - t0);
        while (!done.await(1, TimeUnit.SECONDS)) {
            m.loadTable().forEach((node, e) -> out.printf("LOAD %s inView=%s age=%dms load=%.2f%n",
                    node, e.inView(), e.age().toMillis(), e.report().load()));
        }
        return 0;
    }

    private static LoadReport localReport(String name, int id) {
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        return new LoadReport(name, id, "", "probe", os.getAvailableProcessors(), 0.0, os.getFreeMemorySize(),
                os.getTotalMemorySize(), 0, System.currentTimeMillis(), false);
    }

    private static InetSocketAddress hostPort(String s) {
        int colon = s.lastIndexOf(':');
        if (colon < 0) {
            throw new IllegalArgumentException("expected HOST:PORT, got " + s);
        }
        return new InetSocketAddress(s.substring(0, colon), Integer.parseInt(s.substring(colon + 1)));
    }

}

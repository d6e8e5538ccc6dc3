package dev.gestalt.bench;

import dev.gestalt.cluster.LoadReport;
import dev.gestalt.cluster.Membership;
import dev.gestalt.cluster.MembershipConfig;
import dev.gestalt.cluster.MembershipListener;
import dev.gestalt.process.placement.InFlight;
import dev.gestalt.process.placement.LeastLoaded;
import dev.gestalt.process.placement.NodeLoad;
import dev.gestalt.process.placement.PlacementRequest;
import java.lang.management.ManagementFactory;
import java.lang.reflect.Method;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.LongAdder;
import org.jgroups.JChannel;
import org.jgroups.protocols.MsgStats;
import org.jgroups.protocols.TP;

/**
 * How membership and gossip cost grow with the number of members, and how long a placement
 * decision takes. Not a test (nothing is asserted): a plain main run by {@code bench/run-scale}.
 *
 * <p>Membership: N members in this JVM on JGroups' SHARED_LOOPBACK transport
 * ({@link MembershipConfig} with {@code credentials = null}), the production protocol stack
 * above it, gossip every {@code --gossip-ms} (default 1000, the daemon's default). Measured:
 * <ul>
 *   <li>formation: from the first {@code Membership.start} until every member's view has N members
 *       and every member's load table has a row from all N (members are started one after the other,
 *       as a rolling start of daemons would);</li>
 *   <li>steady state over {@code --window-s} seconds: gossip reports sent per member per second
 *       (counted by a wrapping load supplier) and their encoded size; all transport traffic per
 *       member per second (JGroups TP message statistics: gossip + heartbeats + merge + stability);</li>
 *   <li>heap per member: used heap after full GCs, with the members up minus before, divided by N
 *       (rough: includes thread stacks' heap-side objects, not native stacks).</li>
 * </ul>
 * Placement: {@link LeastLoaded#place} over N synthetic {@link NodeLoad} rows, p50/p99/max of
 * {@code --decisions} timed decisions (System.nanoTime around each call) after a warm-up.
 * Results are printed as markdown tables.
 */
public final class MembershipScale {

    public static void main(String[] args) throws Exception {
        int[] sizes = {3, 10, 25, 50};
        int[] placeSizes = {3, 50, 1000};
        int decisions = 100_000;
        long gossipMs = 1000;
        int windowS = 5;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--sizes" -> sizes = ints(args[++i]);
                case "--place-sizes" -> placeSizes = ints(args[++i]);
                case "--decisions" -> decisions = Integer.parseInt(args[++i]);
                case "--gossip-ms" -> gossipMs = Long.parseLong(args[++i]);
                case "--window-s" -> windowS = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        System.out.println("### Membership and gossip, in-JVM (SHARED_LOOPBACK), gossip every " + gossipMs
                + " ms, steady-state window " + windowS + " s\n");
        System.out.println("| members | all started (s) | full view + full load table (s) | gossip reports /s/member"
                + " | gossip B/s/member (report B) | transport msgs sent /s/member | transport B sent /s/member"
                + " | transport msgs recv /s/member | heap/member (KiB) |");
        System.out.println("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (int n : sizes) {
            membership(n, gossipMs, windowS);
        }
        System.out.println();
        System.out.println("### Placement decision time, LeastLoaded.place, " + decisions + " decisions each\n");
        System.out.println("| nodes | p50 µs | p99 µs | p99.9 µs | max µs | mean µs |");
        System.out.println("|---:|---:|---:|---:|---:|---:|");
        for (int n : placeSizes) {
            placement(n, decisions);
        }
    }

    private static int[] ints(String csv) {
        return Arrays.stream(csv.split(",")).mapToInt(Integer::parseInt).toArray();
    }

    // ------------------------------------------------------------------ membership

    private static void membership(int n, long gossipMs, int windowS) throws Exception {
        String cluster = "scale-" + n + "-" + System.nanoTime();
        LongAdder reports = new LongAdder();
        long heapBefore = usedHeapAfterGc();
        List<Membership> members = new ArrayList<>();
        Method channelOf = Membership.class.getDeclaredMethod("channel");
        channelOf.setAccessible(true);
        try {
            long t0 = System.nanoTime();
            for (int i = 1; i <= n; i++) {
                String name = "m" + i;
                int id = i;
                var cfg = new MembershipConfig(cluster, name, id, null, 0, null, null, "rpc-" + name,
                        Duration.ofMillis(gossipMs));
                members.add(Membership.start(cfg, () -> {
                    reports.increment();
                    return report(name, id);
                }, MembershipListener.NONE));
            }
            long started = System.nanoTime();
            long deadline = started + Duration.ofSeconds(60 + 2L * n).toNanos();
            while (!members.stream().allMatch(m -> m.view().size() == n && m.loadTable().size() == n)) {
                if (System.nanoTime() > deadline) {
                    System.out.printf(Locale.ROOT, "| %d | %.2f | NOT FORMED in %d s | | | | | | |%n", n,
                            (started - t0) / 1e9, (deadline - t0) / 1_000_000_000L);
                    return;
                }
                Thread.sleep(10);
            }
            long formed = System.nanoTime();

            // steady state
            Thread.sleep(Math.max(2000, 2 * gossipMs));
            List<MsgStats> stats = new ArrayList<>();
            for (Membership m : members) {
                TP tp = ((JChannel) channelOf.invoke(m)).getProtocolStack().getTransport();
                tp.getMessageStats().enable(true);
                stats.add(tp.getMessageStats());
            }
            stats.forEach(MsgStats::reset);
            long r0 = reports.sum();
            long w0 = System.nanoTime();
            Thread.sleep(windowS * 1000L);
            double secs = (System.nanoTime() - w0) / 1e9;
            long gossip = reports.sum() - r0;
            long sentMsgs = 0, sentBytes = 0, recvMsgs = 0;
            for (MsgStats s : stats) {
                sentMsgs += s.getNumMsgsSent();
                sentBytes += s.getNumBytesSent();
                recvMsgs += s.getNumMsgsReceived();
            }
            int reportBytes = encodedSize(report("m" + n, n));
            long heapWith = usedHeapAfterGc();
            System.out.printf(Locale.ROOT, "| %d | %.2f | %.2f | %.2f | %.0f (%d) | %.1f | %.0f | %.1f | %.0f |%n", n,
                    (started - t0) / 1e9, (formed - t0) / 1e9,
                    gossip / secs / n, gossip / secs / n * reportBytes, reportBytes,
                    sentMsgs / secs / n, sentBytes / secs / n, recvMsgs / secs / n,
                    (heapWith - heapBefore) / 1024.0 / n);
            System.out.flush();
        } finally {
            for (int i = members.size() - 1; i >= 0; i--) {
                members.get(i).close();
            }
        }
    }

    private static LoadReport report(String name, int id) {
        return new LoadReport(name, id, "rpc-" + name, "0.1.0", 2, 0.25, 1L << 30, 2L << 30, 3,
                System.currentTimeMillis(), false);
    }

    private static int encodedSize(LoadReport r) throws Exception {
        Method encode = LoadReport.class.getDeclaredMethod("toBytes");
        encode.setAccessible(true);
        return ((byte[]) encode.invoke(r)).length;
    }

    private static long usedHeapAfterGc() throws InterruptedException {
        var mem = ManagementFactory.getMemoryMXBean();
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100);
        }
        return mem.getHeapMemoryUsage().getUsed();
    }

    // ------------------------------------------------------------------ placement

    private static void placement(int n, int decisions) throws Exception {
        var rnd = new SplittableRandom(42);
        long now = System.currentTimeMillis();
        List<NodeLoad> live = new ArrayList<>(n);
        for (int i = 1; i <= n; i++) {
            int cpus = 1 << rnd.nextInt(0, 7);
            live.add(new NodeLoad("node" + i, i, cpus, rnd.nextDouble() * cpus, rnd.nextLong(1L << 28, 1L << 36),
                    1L << 36, rnd.nextInt(0, 200), now - rnd.nextInt(0, 3000), rnd.nextInt(0, 3000)));
        }
        var policy = new LeastLoaded(new SplittableRandom(7));
        var inFlight = new InFlight();
        long sink = 0;
        for (int i = 0; i < 20_000; i++) { // warm-up (JIT)
            sink += policy.place(PlacementRequest.ANY, live, inFlight).node().length();
        }
        long[] t = new long[decisions];
        for (int i = 0; i < decisions; i++) {
            long a = System.nanoTime();
            var p = policy.place(PlacementRequest.ANY, live, inFlight);
            t[i] = System.nanoTime() - a;
            sink += p.node().length();
            if ((i & 1023) == 0) {
                inFlight = new InFlight(); // as if what was in flight had aged out
            }
            inFlight.placed(p.node());
        }
        Arrays.sort(t);
        double mean = Arrays.stream(t).average().orElse(0);
        System.out.printf(Locale.ROOT, "| %d | %.1f | %.1f | %.1f | %.1f | %.1f |%n", n,
                q(t, .50) / 1e3, q(t, .99) / 1e3, q(t, .999) / 1e3, t[t.length - 1] / 1e3, mean / 1e3);
        if (sink == 42) {
            System.out.println(); // keeps the JIT from dropping the calls
        }
    }

    private static long q(long[] sorted, double p) {
        return sorted[(int) Math.min(sorted.length - 1, Math.round(p * (sorted.length - 1)))];
    }
}

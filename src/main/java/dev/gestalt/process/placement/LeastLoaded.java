package dev.gestalt.process.placement;

import dev.gestalt.rpc.GestaltException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.random.RandomGenerator;

/**
 * The default policy: the expected load per CPU after placing, counting
 * placements still in flight, with a penalty for nodes short of memory.
 * Small clusters (up to {@value #EXACT_UP_TO} eligible nodes) are scanned
 * whole; larger ones by the power of two choices (two random eligible nodes,
 * the better one wins), which keeps the decision O(1) and spreads bursts.
 */
public final class LeastLoaded implements PlacementPolicy {

    static final int EXACT_UP_TO = 8;
    private static final long LOW_MEMORY = 256L << 20;

    private final RandomGenerator random;

    public LeastLoaded(RandomGenerator random) {
        this.random = random;
    }

    public LeastLoaded() {
        this(RandomGenerator.getDefault());
    }

    /** Lower is better. */
    static double score(NodeLoad n, int inFlight) {
        int cpus = Math.max(1, n.cpus());
        double perCpu = (n.load() + inFlight + 1) / cpus;
        double crowd = 0.05 * n.processes() / cpus;
        double memory = n.memFreeBytes() < LOW_MEMORY ? 1.0 : 0.0;
        return perCpu + crowd + memory;
    }

    @Override
    public Placement place(PlacementRequest req, List<NodeLoad> live, InFlight inFlight)
        throws GestaltException.NoEligibleNode {
        if (live.isEmpty()) {
            throw new GestaltException.NoEligibleNode("no node is alive");
        }
        List<NodeLoad> eligible = new ArrayList<>();
        List<String> refused = new ArrayList<>();
        for (NodeLoad n : live) {
            if (req.pinned() != null && !req.pinned().equals(n.node()) && !req.pinned().equals(String.valueOf(n.id()))) {
                continue;
            }
            if (n.draining()) {
                String why = n.node() + " is draining: it takes no new processes (gestalt undrain " + n.node() + ")";
                if (req.pinned() != null) {
                    throw new GestaltException.NoEligibleNode(why);
                }
                refused.add(why);
            } else if (n.cpus() < req.minCpus()) {
                refused.add(n.node() + " has " + n.cpus() + " CPUs");
            } else if (req.minMem() > 0 && n.memFreeBytes() < req.minMem()) {
                refused.add(n.node() + " has " + (n.memFreeBytes() >> 20) + " MiB free");
            } else {
                eligible.add(n);
            }
        }
        if (eligible.isEmpty()) {
            if (req.pinned() != null && refused.isEmpty()) {
                throw new GestaltException.NoEligibleNode("node " + req.pinned() + " is not in the cluster or is down");
            }
            throw new GestaltException.NoEligibleNode("no node is eligible: " + String.join("; ", refused));
        }
        if (!req.avoid().isEmpty() && eligible.stream().anyMatch(n -> !req.avoid().contains(n.node()))) {
            eligible.removeIf(n -> req.avoid().contains(n.node()));
        }
        List<NodeLoad> sample = eligible;
        String how = eligible.size() == 1 ? "the only eligible node" : "least loaded of all " + eligible.size() + " eligible nodes";
        if (eligible.size() > EXACT_UP_TO) {
            int a = random.nextInt(eligible.size());
            int b = random.nextInt(eligible.size() - 1);
            if (b >= a) {
                b++;
            }
            sample = List.of(eligible.get(a), eligible.get(b));
            how = "better of 2 random choices among " + eligible.size() + " eligible nodes";
        }
        // ties (an idle cluster) are broken at random, not by name: no node is everyone's first choice
        List<NodeLoad> shuffled = new ArrayList<>(sample);
        java.util.Collections.shuffle(shuffled, new java.util.Random(random.nextLong()));
        NodeLoad best = shuffled.stream()
            .min(Comparator.comparingDouble((NodeLoad n) -> score(n, inFlight.pending(n.node())))
                .thenComparingInt(NodeLoad::processes))
            .orElseThrow();
        StringBuilder why = new StringBuilder("placed on ").append(best.node()).append(": ").append(how).append('\n');
        why.append(String.format(Locale.ROOT, "  %-12s %5s %6s %6s %6s %9s %6s %7s%n",
            "NODE", "CPUS", "LOAD", "QUEUED", "PROCS", "FREE", "AGE", "SCORE"));
        for (NodeLoad n : sample) {
            int q = inFlight.pending(n.node());
            why.append(String.format(Locale.ROOT, "  %-12s %5d %6.2f %6d %6d %8dM %5.1fs %7.3f%s%n",
                n.node(), n.cpus(), n.load(), q, n.processes(), n.memFreeBytes() >> 20, n.ageMillis() / 1000.0,
                score(n, q), n == best ? " *" : ""));
        }
        for (String r : refused) {
            why.append("  not eligible: ").append(r).append('\n');
        }
        why.append("  score = (load + queued + 1) / cpus + 0.05 * procs / cpus + 1 if free < 256M");
        return new Placement(best.node(), why.toString());
    }
}

package dev.gestalt.process.placement;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Placements this home node made recently, which the gossiped load may not
 * show yet. Without them a burst of runs would all go to the node that looked
 * least loaded a second ago (the herd effect Sparrow and MOSIX avoid). A
 * placement counts for {@link #WINDOW_MILLIS}: long enough for the target's
 * load sampler (1 s) and gossip (1 s) to report the process, whatever it does.
 */
public final class InFlight {

    public static final long WINDOW_MILLIS = 3000;

    private final Map<String, Deque<Long>> placed = new HashMap<>();
    private final LongSupplier clock;

    public InFlight(LongSupplier clock) {
        this.clock = clock;
    }

    public InFlight() {
        this(System::currentTimeMillis);
    }

    public synchronized void placed(String node) {
        placed.computeIfAbsent(node, n -> new ArrayDeque<>()).addLast(clock.getAsLong());
    }

    public synchronized int pending(String node) {
        Deque<Long> q = placed.get(node);
        if (q == null) {
            return 0;
        }
        long oldest = clock.getAsLong() - WINDOW_MILLIS;
        while (!q.isEmpty() && q.peekFirst() < oldest) {
            q.pollFirst();
        }
        return q.size();
    }
}

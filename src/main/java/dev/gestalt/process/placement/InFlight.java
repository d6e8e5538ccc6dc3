package dev.gestalt.process.placement;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;

/**
 * Placements this home node made that the target's gossiped load does not
 * show yet. Without it a burst of runs would all go to the node that looked
 * least loaded a second ago (the herd effect Sparrow and MOSIX avoid). A
 * placement stops counting once a load report taken after it arrives.
 */
public final class InFlight {

    private final Map<String, Deque<Long>> pending = new HashMap<>();

    public synchronized void placed(String node, long nowMillis) {
        pending.computeIfAbsent(node, n -> new ArrayDeque<>()).addLast(nowMillis);
    }

    /** A report from {@code node} taken at {@code reportedAtMillis} now reflects earlier placements. */
    public synchronized void reported(String node, long reportedAtMillis) {
        Deque<Long> q = pending.get(node);
        while (q != null && !q.isEmpty() && q.peekFirst() < reportedAtMillis) {
            q.pollFirst();
        }
    }

    public synchronized int pending(String node) {
        Deque<Long> q = pending.get(node);
        return q == null ? 0 : q.size();
    }
}

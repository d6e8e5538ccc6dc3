package dev.gestalt.cluster;

import java.time.Duration;
import java.util.Collections;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * The bulletin board: the latest load report of every node ever seen, with the local time it
 * arrived. Ages come from this node's monotonic clock, never from the reporter's wall clock,
 * so clock skew between machines does not make a report look fresh or stale.
 *
 * <p>Gossip is sent unreliably, so two reports of one node can arrive out of order; an older
 * report (by the reporter's own clock) never replaces a newer one, except after the node left
 * the view: a node that rejoins may have a clock that was set back.
 */
final class LoadTable {

    private record Row(LoadReport report, long receivedNanos, boolean current) {}

    private final Map<String, Row> rows = new ConcurrentHashMap<>();
    private final LongSupplier nanoClock;

    LoadTable(LongSupplier nanoClock) {
        this.nanoClock = nanoClock;
    }

    /** Records a report; returns false if it was older than the one already held. */
    boolean put(LoadReport r) {
        long now = nanoClock.getAsLong();
        Row fresh = new Row(r, now, true);
        Row kept = rows.merge(r.node(), fresh, (old, neu) ->
                !old.current() || neu.report().epochMillis() >= old.report().epochMillis() ? neu : old);
        return kept == fresh;
    }

    /** Nodes that left the view: their rows stay, and their next report is taken whatever its time. */
    void markLeft(Set<String> left) {
        for (String node : left) {
            rows.computeIfPresent(node, (n, row) -> new Row(row.report(), row.receivedNanos(), false));
        }
    }

    /** The table by node name, each row marked in view or not. */
    Map<String, LoadEntry> snapshot(Set<String> view) {
        long now = nanoClock.getAsLong();
        var out = new TreeMap<String, LoadEntry>();
        rows.forEach((node, row) -> out.put(node,
                new LoadEntry(row.report(), Duration.ofNanos(Math.max(0, now - row.receivedNanos())), view.contains(node))));
        return Collections.unmodifiableMap(out);
    }
}

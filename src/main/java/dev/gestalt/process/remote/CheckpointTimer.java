package dev.gestalt.process.remote;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * {@code run --checkpoint-every}: the processes of this node that are checkpointed periodically,
 * and how often. Each is checkpointed {@code seconds} after it started here (or came here: a move,
 * a restart) and then again {@code seconds} after each checkpoint ended, until it no longer runs
 * here: its new node goes on (the period travels with it). At most one per node's process.
 */
public final class CheckpointTimer implements AutoCloseable {

    /** Never: a node that does not checkpoint (tests). */
    public static final CheckpointTimer NONE = new CheckpointTimer();

    private final Map<String, Long> every = new ConcurrentHashMap<>();
    private final ScheduledExecutorService timer =
        Executors.newSingleThreadScheduledExecutor(Thread.ofVirtual().name("checkpoint-every").factory());
    /** Checkpoints a process; false when it no longer runs here. */
    private volatile Predicate<String> take = gpid -> false;

    /** What takes a checkpoint (see {@link CheckpointService}). */
    void taker(Predicate<String> take) {
        this.take = take;
    }

    /** Checkpoints {@code gpid} every {@code seconds} while it runs here (nothing when 0). */
    public void every(String gpid, long seconds) {
        if (seconds > 0 && every.putIfAbsent(gpid, seconds) == null) {
            next(gpid, seconds);
        }
    }

    /** How often {@code gpid} is checkpointed here; 0 when it is not. */
    public long seconds(String gpid) {
        return every.getOrDefault(gpid, 0L);
    }

    private void next(String gpid, long seconds) {
        try {
            timer.schedule(() -> Thread.ofVirtual().start(() -> {
                if (take.test(gpid)) {
                    next(gpid, seconds);
                } else {
                    every.remove(gpid);
                }
            }), seconds, TimeUnit.SECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            every.remove(gpid); // the node stops
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}

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
    /** A process checkpointed periodically ended here: its periodic checkpoints go. */
    private volatile java.util.function.Consumer<String> ended = gpid -> { };
    /** Where the period of each is kept, so that a restarted daemon goes on (see {@link #resume}). */
    private final java.util.function.ObjLongConsumer<String> remember;

    /** A timer that remembers nothing (tests). */
    public CheckpointTimer() {
        this((gpid, seconds) -> { });
    }

    /** @param remember records each process's period (the node's job records) */
    public CheckpointTimer(java.util.function.ObjLongConsumer<String> remember) {
        this.remember = remember;
    }

    /** What takes a checkpoint, and what removes those of a process that ended (see {@link CheckpointService}). */
    void taker(Predicate<String> take, java.util.function.Consumer<String> ended) {
        this.take = take;
        this.ended = ended;
    }

    /**
     * Checkpoints the job {@code j} every {@code seconds} while it runs here (nothing when 0);
     * once it ends here (not when it moves: a moved copy has no end), its periodic checkpoints go:
     * it is not to be restarted from them when a node dies.
     */
    public void every(dev.gestalt.process.supervisor.Job j, long seconds) {
        String gpid = j.gpid();
        if (seconds > 0 && every.putIfAbsent(gpid, seconds) == null) {
            remember.accept(gpid, seconds);
            j.end().thenRun(() -> {
                every.remove(gpid);
                Thread.ofVirtual().start(() -> ended.accept(gpid));
            });
            next(gpid, seconds);
        }
    }

    /**
     * A daemon started again under running jobs: each that was checkpointed periodically is again,
     * as recorded ({@code period}: seconds, 0 for none), its next checkpoint a period from now.
     */
    public void resume(java.util.Collection<dev.gestalt.process.supervisor.Job> running,
                       java.util.function.ToLongFunction<String> period) {
        for (var j : running) {
            if (!j.end().isDone()) {
                every(j, period.applyAsLong(j.gpid()));
            }
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

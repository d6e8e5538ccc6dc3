package dev.gestalt.process.remote;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Platform threads for the work of a process's stream that blocks in pipe and socket calls: the
 * pumps of an attached job's output, and the callbacks of a stream to another node. Platform,
 * because a virtual thread blocked in a pipe read pins its carrier and makes the scheduler
 * compensate with another one, on every read. Kept, because a short job needs three of them (its
 * stdout and stderr pumps on the node it runs on, its stream's callbacks on its home node), and a
 * platform thread costs ~150 µs of CPU to start and end on this project's machines: a third of a
 * `forall` task's daemon time went to that. Idle ones end after 30 s; there are never more than
 * the streams that need them at once (sessions are bounded where they are accepted).
 */
final class IoThreads {
    private static final Logger LOG = Logger.getLogger(IoThreads.class.getName());
    private static final String IDLE = "io-idle";

    private static final ThreadPoolExecutor POOL = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 30, TimeUnit.SECONDS,
        new SynchronousQueue<>(), Thread.ofPlatform().daemon().name(IDLE).factory());

    private IoThreads() {
    }

    /**
     * Runs {@code task} on a kept thread, named {@code name} while it runs (as a thread of its own
     * would be, in thread dumps and logs); the future completes when it ends, normally or not (what
     * it threw is logged, as a thread's uncaught exception would be).
     */
    static CompletableFuture<Void> start(String name, Runnable task) {
        var done = new CompletableFuture<Void>();
        POOL.execute(() -> {
            Thread self = Thread.currentThread();
            self.setName(name);
            try {
                task.run();
            } catch (Throwable t) {
                LOG.log(Level.WARNING, name + " failed", t);
            } finally {
                Thread.interrupted(); // nothing of this task reaches the next one
                self.setName(IDLE);
                done.complete(null);
            }
        });
        return done;
    }

    /** An executor of kept threads (for gRPC's callbacks of one call, which it runs one at a time, in order). */
    static Executor executor() {
        return POOL;
    }
}

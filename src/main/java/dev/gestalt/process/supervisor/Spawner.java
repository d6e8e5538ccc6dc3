package dev.gestalt.process.supervisor;

import dev.gestalt.os.Posix;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * The one platform thread that forks every job.
 *
 * <p>Why one thread: PR_SET_PDEATHSIG (set by {@code setpriv --pdeathsig}) fires when the
 * <em>thread</em> that forked the process ends, not the process. A pooled or virtual thread's
 * carrier may end at any time and would kill its jobs; this thread lives as long as the
 * supervisor, so jobs die with the daemon and not before. (pty4j forks tty jobs from a
 * "reaper" platform thread of its own that waits for that one child, so the same holds there.)
 *
 * <p>The umask is process-wide: each spawn sets the job's umask just around the fork and puts
 * the daemon's back; spawns are serial on this thread, and other threads of the daemon that
 * create files during that moment get the job's umask (keep file creation elsewhere explicit).
 */
final class Spawner implements AutoCloseable {
    private final BlockingQueue<Runnable> tasks = new LinkedBlockingQueue<>();
    private final Thread thread;
    private volatile boolean closed;

    Spawner() {
        thread = Thread.ofPlatform().name("gestalt-spawner").daemon(true).unstarted(this::loop);
        thread.start();
    }

    private void loop() {
        while (!closed) {
            try {
                tasks.take().run();
            } catch (InterruptedException e) {
                return;
            } catch (Throwable t) {
                // never let the thread die with its children: the failure went to the caller
            }
        }
    }

    /** Runs {@code action} on the spawner thread with {@code umask} in effect. */
    <T> T spawn(int umask, Callable<T> action) throws Exception {
        if (closed) {
            throw new IllegalStateException("supervisor closed");
        }
        CompletableFuture<T> result = new CompletableFuture<>();
        tasks.add(() -> {
            int old = Posix.umask(umask);
            try {
                result.complete(action.call());
            } catch (Throwable t) {
                result.completeExceptionally(t);
            } finally {
                Posix.umask(old);
            }
        });
        try {
            return result.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception ex) {
                throw ex;
            }
            throw new IllegalStateException(e.getCause());
        }
    }

    /** Ends the thread: every job still running gets SIGKILL through its parent-death signal. */
    @Override
    public void close() {
        closed = true;
        thread.interrupt();
    }
}

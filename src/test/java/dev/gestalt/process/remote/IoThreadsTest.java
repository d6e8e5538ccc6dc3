package dev.gestalt.process.remote;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Kept platform threads for a stream's blocking work. */
class IoThreadsTest {

    @Test
    void aTaskRunsOnAPlatformThreadNamedAfterItsWork() throws Exception {
        var seen = new AtomicReference<Thread>();
        var name = new AtomicReference<String>();
        IoThreads.start("stderr-1-7", () -> {
            seen.set(Thread.currentThread());
            name.set(Thread.currentThread().getName());
        }).get(5, TimeUnit.SECONDS);
        assertFalse(seen.get().isVirtual());
        assertTrue(seen.get().isDaemon(), "a stream's thread never keeps the JVM up");
        assertEquals("stderr-1-7", name.get());
    }

    @Test
    void threadsAreKeptForTheNextTask() throws Exception {
        // A finished task's thread is idle again only once it is back waiting for work, a moment
        // after its future completes (longer on a loaded machine, cc of 2026-12-05: 50 ms were not
        // enough): a later start reuses it. Without keeping (a pool that ends its threads), none does.
        var first = new AtomicReference<Thread>();
        IoThreads.start("a", () -> first.set(Thread.currentThread())).get(5, TimeUnit.SECONDS);
        var reused = false;
        for (int i = 0; i < 100 && !reused; i++) {
            Thread.sleep(20);
            var next = new AtomicReference<Thread>();
            IoThreads.start("b", () -> next.set(Thread.currentThread())).get(5, TimeUnit.SECONDS);
            reused = next.get() == first.get();
            if (!reused) {
                first.set(next.get()); // the newer thread is the one to find again
            }
        }
        assertTrue(reused, "one start after another reuses the idle thread");
    }

    @Test
    void aFailingTaskCompletesItsFutureAndLeavesNothingToTheNext() throws Exception {
        IoThreads.start("fails", () -> {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("boom");
        }).get(5, TimeUnit.SECONDS); // completes normally: the failure is logged, as an uncaught one
        Thread.sleep(50);
        var interrupted = new AtomicBoolean(true);
        IoThreads.start("next", () -> interrupted.set(Thread.currentThread().isInterrupted())).get(5, TimeUnit.SECONDS);
        assertFalse(interrupted.get(), "the interrupt of one task does not reach the next");
    }
}

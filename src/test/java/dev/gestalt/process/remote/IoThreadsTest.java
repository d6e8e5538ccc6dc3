package dev.gestalt.process.remote;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
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
        var first = new AtomicReference<Thread>();
        var second = new AtomicReference<Thread>();
        IoThreads.start("a", () -> first.set(Thread.currentThread())).get(5, TimeUnit.SECONDS);
        Thread.sleep(50); // back in the pool
        IoThreads.start("b", () -> second.set(Thread.currentThread())).get(5, TimeUnit.SECONDS);
        assertSame(first.get(), second.get(), "one start after another reuses the idle thread");
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

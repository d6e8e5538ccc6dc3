package dev.gestalt.testkit;

import java.time.Duration;
import java.util.function.Supplier;

/**
 * Bounded polling: the machine may be slow and noisy, so tests wait for an
 * outcome up to a generous bound instead of asserting on how fast it comes.
 */
public final class Eventually {

    private Eventually() {}

    /** Polls {@code condition} every 200 ms until it holds; fails with {@code what} and the last state after {@code bound}. */
    public static void holds(Duration bound, String what, Supplier<Boolean> condition) {
        value(bound, what, () -> condition.get() ? Boolean.TRUE : null);
    }

    /** Polls until {@code probe} returns non-null and returns it; fails after {@code bound}. */
    public static <T> T value(Duration bound, String what, Supplier<T> probe) {
        long deadline = System.nanoTime() + bound.toNanos();
        RuntimeException lastError = null;
        while (true) {
            try {
                T v = probe.get();
                if (v != null) {
                    return v;
                }
                lastError = null;
            } catch (RuntimeException | AssertionError e) {
                lastError = e instanceof RuntimeException re ? re : new RuntimeException(e);
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + bound.toSeconds() + " s: " + what, lastError);
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted while waiting: " + what, e);
            }
        }
    }

    /** Checks that {@code condition} holds at every poll during {@code period} (e.g. "never placed on node3"). */
    public static void stays(Duration period, String what, Supplier<Boolean> condition) {
        long end = System.nanoTime() + period.toNanos();
        do {
            if (!condition.get()) {
                throw new AssertionError("stopped holding: " + what);
            }
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        } while (System.nanoTime() < end);
    }
}

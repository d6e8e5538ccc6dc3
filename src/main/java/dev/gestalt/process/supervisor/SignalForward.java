package dev.gestalt.process.supervisor;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Sends the signals of a process that moved from this node on to where it runs now. Sends are
 * queued in the order they are asked for and go one at a time; the returned future completes once
 * the signal was delivered there (or found no process). A caller that waits for it before it
 * answers its own sender keeps a signal sent later through the process's new node from overtaking
 * one still on its way from here.
 */
@FunctionalInterface
public interface SignalForward {

    /** How long a sender waits for a forwarded signal before it answers anyway (it stays queued). */
    long WAIT_SECONDS = 15;

    Future<?> send(int sig);

    /** Waits for {@code sent} at most {@link #WAIT_SECONDS}; whether it was delivered is logged where it was sent. */
    static void await(Future<?> sent) {
        try {
            sent.get(WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            // still queued, or failed: the sending side said so in its log
        }
    }
}

package dev.gestalt.rpc.local;

/**
 * A window of bytes the sender may still send, as in SSH channels: the
 * receiver grants more as it consumes. It keeps the input direction of one
 * socket flow-controlled while control frames (signals, window sizes) on the
 * same socket are never stuck behind data nobody reads.
 */
public final class Credit {

    private long available;
    private boolean closed;

    public Credit(long initial) {
        this.available = initial;
    }

    /** Blocks until some credit is available; returns how much may be sent now, at most {@code max}, or -1 once closed. */
    public synchronized int take(int max) throws InterruptedException {
        while (available <= 0 && !closed) {
            wait();
        }
        if (closed) {
            return -1;
        }
        int n = (int) Math.min(max, available);
        available -= n;
        return n;
    }

    /** Gives back {@code n} bytes that were taken but not sent. */
    public synchronized void giveBack(int n) {
        grant(n);
    }

    public synchronized void grant(long n) {
        available += n;
        notifyAll();
    }

    public synchronized void close() {
        closed = true;
        notifyAll();
    }
}

package dev.gestalt.process.remote;

import java.io.IOException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * How many moves a node takes at once ({@code incoming_moves} in its node.conf): each one holds a
 * folder of the process's memory on this node's disk, and a big stop-and-copy a CRIU page server,
 * until it is restored here (post-copy: until all its memory came). One more is refused at once;
 * the process runs on where it was.
 */
final class IncomingMoves {
    private final int limit;
    private final Semaphore slots;

    IncomingMoves(int limit) {
        if (limit < 1) {
            throw new IllegalArgumentException("incoming moves: at least 1, not " + limit);
        }
        this.limit = limit;
        this.slots = new Semaphore(limit);
    }

    /** One move's place, given back once by {@link Slot#release}. */
    final class Slot {
        private final AtomicBoolean held = new AtomicBoolean(true);

        /** Gives the place back; again: nothing. */
        void release() {
            if (held.getAndSet(false)) {
                slots.release();
            }
        }
    }

    /** A place for one more move into {@code nodeName}, or the refusal when all are taken. */
    Slot take(String nodeName) throws IOException {
        if (!slots.tryAcquire()) {
            throw new IOException(nodeName + " is taking " + limit + (limit == 1 ? " move" : " moves")
                + " from other nodes already, its limit (incoming_moves in its node.conf): try again once one has ended");
        }
        return new Slot();
    }
}

package dev.gestalt.process.remote;

import com.google.protobuf.ByteString;
import dev.gestalt.process.supervisor.Job;
import dev.gestalt.rpc.proto.Moved;
import dev.gestalt.rpc.proto.Resume;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The input side of one attached process's stream ({@link ExecSession}): what the home node sends
 * is written to the process's stdin by a thread of its own, so that a process that does not read
 * never blocks the stream's callbacks; one message is requested ahead (at most two are queued), so
 * the next is on its way while one is written. While the process moves, input is kept, not written
 * ({@link #pause}); the writer is {@code writing} while in a write to the pipe; once
 * {@code handedOver}, what it holds and what is queued belong to the node the process went to
 * ({@link #handOver}).
 */
final class SessionInput {

    /** Takes what waits unread in a frozen process's stdin pipe (see Supervisor#takeUnreadInput). */
    @FunctionalInterface
    interface UnreadInput {
        byte[] take() throws IOException;
    }

    private static final Object EOF = new Object();
    private static final Object STOP = new Object();

    /** Input kept while a process moved: written without asking the stream for more (it was asked for already). */
    private record Prepaid(Object item) {}

    /** Asks the stream for its next message (credit for one more). */
    private final Runnable requestOne;
    private final LinkedBlockingQueue<Object> queue = new LinkedBlockingQueue<>();
    /** Started with the first input (stream callbacks come one at a time: no lock needed). */
    private volatile Thread writer;
    private final Object writeLock = new Object();
    private boolean paused;
    private boolean writing;
    private boolean handedOver;
    private final List<Object> leftover = new ArrayList<>();
    private volatile CompletableFuture<Void> pausedAck;
    private volatile boolean eofWritten;

    SessionInput(Runnable requestOne) {
        this.requestOne = requestOne;
    }

    /** A message of input from the home node: {@code data}, or its end when null. */
    void received(Job j, ByteString data) {
        Object item = data != null ? data : EOF;
        boolean pausedNow;
        synchronized (writeLock) {
            pausedNow = paused;
        }
        if (j == null || j.detached()) {
            requestOne.run(); // nobody reads it (a detached job's stdin is /dev/null)
        } else if (pausedNow) {
            // the process is moving: kept for wherever it runs next; the home node's
            // answer (input_paused) is still to come after it
            queue.add(new Prepaid(item));
            requestOne.run();
        } else if (item == EOF && writer == null) {
            // no input before the EOF (forall's tasks, `run < /dev/null`): no writer thread
            j.closeStdin();
            eofWritten = true;
            requestOne.run();
        } else {
            startWriter(j);
            queue.add(item);
        }
    }

    /** A process that moved here: the input it had not read where it was comes first (no credit asked for it). */
    void resumed(Job j, Resume r) {
        if (!r.getStdin().isEmpty()) {
            queue.add(new Prepaid(r.getStdin()));
        }
        if (r.getStdinEof()) {
            queue.add(new Prepaid(EOF));
        }
        if (!queue.isEmpty()) {
            startWriter(j);
        }
    }

    /** Its input ends (the process ended, or the stream broke): the writer thread goes. */
    void stop() {
        queue.add(STOP);
    }

    /**
     * From now on input is kept, not written: the answer to the pause asked of the home node
     * completes the future ({@link #pauseAcknowledged}).
     */
    CompletableFuture<Void> pause() {
        synchronized (writeLock) {
            paused = true;
        }
        var ack = new CompletableFuture<Void>();
        pausedAck = ack;
        return ack;
    }

    /** The home node sends no more input until it is told to again. */
    void pauseAcknowledged() {
        var ack = pausedAck;
        if (ack != null) {
            ack.complete(null);
        }
    }

    /** The move did not happen: input flows again, to the process here. */
    void resume() {
        synchronized (writeLock) {
            paused = false;
            writeLock.notifyAll();
        }
    }

    /**
     * The process runs on {@code target} now; its copy here is frozen and about to go. Collects the
     * input it did not read, in order: what waits in its pipe ({@code unreadInPipe} takes it out),
     * then what the writer holds and what is queued.
     */
    Moved handOver(String target, UnreadInput unreadInPipe) throws IOException, InterruptedException {
        var unread = ByteString.newOutput();
        while (true) {
            unread.write(unreadInPipe.take()); // room in the pipe: a write under way can end
            synchronized (writeLock) {
                if (!writing) {
                    handedOver = true;
                    writeLock.notifyAll();
                    break;
                }
                writeLock.wait(20);
            }
        }
        unread.write(unreadInPipe.take()); // what the last write put there
        queue.add(STOP); // wakes a writer that waits for input
        Thread w = writer;
        if (w != null) {
            w.join(TimeUnit.SECONDS.toMillis(5));
        }
        List<Object> rest = new ArrayList<>();
        synchronized (writeLock) {
            rest.addAll(leftover);
        }
        queue.drainTo(rest);
        boolean eof = eofWritten;
        for (Object o : rest) {
            Object item = o instanceof Prepaid p ? p.item() : o;
            if (item == EOF) {
                eof = true;
            } else if (item instanceof ByteString b && !eof) {
                unread.write(b.toByteArray());
            }
        }
        return Moved.newBuilder().setNode(target).setUnreadStdin(unread.toByteString()).setStdinEof(eof).build();
    }

    private void startWriter(Job j) {
        if (writer == null) {
            writer = Thread.ofPlatform().daemon().name("stdin-" + j.gpid()).start(() -> write(j));
        }
    }

    /** Until the job ends: queued input to the process, then the next message requested. */
    private void write(Job j) {
        try {
            while (true) {
                Object o = queue.take();
                synchronized (writeLock) {
                    while (paused && !handedOver && o != STOP) {
                        writeLock.wait(); // the process is moving: nothing more into its pipe here
                    }
                    if (handedOver) {
                        if (o != STOP) {
                            leftover.add(o); // for the node it went to
                        }
                        return;
                    }
                    if (o == STOP) {
                        return;
                    }
                    writing = true;
                }
                Object item = o instanceof Prepaid p ? p.item() : o;
                try {
                    if (item == EOF) {
                        j.closeStdin();
                        eofWritten = true;
                    } else {
                        writeTo(j, (ByteString) item);
                    }
                } finally {
                    synchronized (writeLock) {
                        writing = false;
                        writeLock.notifyAll();
                    }
                }
                if (!(o instanceof Prepaid)) {
                    requestOne.run();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void writeTo(Job j, ByteString data) {
        if (data.size() >= OutputPump.BULK) {
            j.bulkIo();
        }
        try {
            data.writeTo(j.stdin());
            j.stdin().flush();
        } catch (IOException e) {
            // the process closed its stdin: drop input, as a pipe to a dead reader would
        }
    }
}

package dev.gestalt.process.forall;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * One task's output on its way to the client (see {@link Printer} for when it may go): held
 * in memory, then spilled, while it may not; streamed once the task owns the output; tagged
 * with {@code --tag}; assembled into whole lines with {@code --line-buffer}. {@link #write} is
 * called by the task's stream, one call at a time, and may wait: that is the backpressure.
 */
final class TaskOutput {

    /** A line longer than this is written in pieces with --line-buffer. */
    private static final int LINE_MAX = 1 << 20;

    private final Printer printer;
    final long seq;
    private final byte[] tag;
    private final Held out;
    private final Held err;
    private final boolean[] lineStart = {true, true};
    private final ByteArrayOutputStream[] partial = {new ByteArrayOutputStream(), new ByteArrayOutputStream()};
    /** Set once, by the task's thread; then its output goes straight to the client. */
    private volatile boolean live;
    private boolean discarded;
    /** The printer has been told this task ended (once). */
    private boolean reported;
    private long stdoutBytes;
    private volatile String deliveryError;
    /** Written after the output, untagged: forall's own lines about the task (joblog to stdout, halt notices). */
    private final java.util.List<byte[]> trailers = new java.util.ArrayList<>();
    private final java.util.List<Boolean> trailerToStdout = new java.util.ArrayList<>();

    TaskOutput(Printer printer, long seq, byte[] tag) {
        this.printer = printer;
        this.seq = seq;
        this.tag = tag;
        this.out = new Held(printer.budget);
        this.err = new Held(printer.budget);
    }

    /** Bytes of stdout so far (the joblog's Receive). */
    synchronized long stdoutBytes() {
        return stdoutBytes;
    }

    /** Why some of this task's output could not be delivered, or null. */
    String deliveryError() {
        return deliveryError;
    }

    /** Output of the task; may wait until it can be held or printed. */
    void write(boolean stdout, ByteBuffer data) throws IOException {
        synchronized (this) {
            if (discarded) {
                return;
            }
            if (stdout) {
                stdoutBytes += data.remaining();
            }
        }
        if (!printer.holds()) {
            emit(stdout, data);
            return;
        }
        while (true) {
            if (live) {
                emit(stdout, data);
                return;
            }
            // --line-buffer -k: the first unprinted task's lines go as they come
            if (printer.mode == Printer.Mode.LINE && printer.tryOwn(this)) {
                goLive();
                continue;
            }
            int n = data.remaining();
            synchronized (this) {
                if (discarded) {
                    return;
                }
                Held h = stdout ? out : err;
                if (!h.spilling() && out.memoryBytes() + err.memoryBytes() + n <= OutputBudget.PER_TASK
                    && printer.budget.takeMemory(n)) {
                    h.keep(data);
                    return;
                }
            }
            // too much to keep in memory: stream it if it is this task's turn, else spill it
            if (printer.tryOwn(this)) {
                goLive();
                continue;
            }
            synchronized (this) {
                Held h = stdout ? out : err;
                if (printer.budget.takeSpill(n)) {
                    try {
                        h.spill(data);
                    } catch (IOException e) {
                        printer.budget.releaseSpill(n);
                        throw new IOException("cannot hold task " + seq + "'s output until its turn: " + e.getMessage(), e);
                    }
                    return;
                }
            }
            printer.awaitChange();
        }
    }

    /** This task owns the output now: what it holds goes first, then everything as it comes. */
    private void goLive() throws IOException {
        synchronized (this) {
            out.drainTo((b, off, len) -> emit(true, ByteBuffer.wrap(b, off, len)));
            err.drainTo((b, off, len) -> emit(false, ByteBuffer.wrap(b, off, len)));
            live = true;
        }
    }

    /** The task failed to deliver its output (recorded, printed as an error, counted as a failure). */
    void failed(String why) {
        deliveryError = why;
    }

    /** A line of forall's own to print after the task's output (set before {@link #ended}). */
    synchronized void trailer(boolean stdout, String text) {
        trailers.add(text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        trailerToStdout.add(stdout);
    }

    /** A new attempt of the task (--retries): what the last one wrote and is still held is dropped. */
    synchronized void retry() {
        if (!live) {
            out.discard();
            err.discard();
            stdoutBytes = 0;
        }
    }

    /** The task ended: its output goes in its turn. */
    void ended() {
        synchronized (this) {
            if (reported) {
                return;
            }
            reported = true;
            if (live) {
                flushPartials();
                writeTrailers();
            }
        }
        printer.ended(this);
    }

    /** The task was killed by a halt or the forall is over: its output is dropped. */
    void discard() {
        synchronized (this) {
            discarded = true;
            out.discard();
            err.discard();
            if (reported) {
                return;
            }
            reported = true;
        }
        printer.ended(this);
    }

    /** By the printer, in this task's turn, after it ended. */
    void printHeld() {
        synchronized (this) {
            if (discarded) {
                return;
            }
            try {
                out.drainTo((b, off, len) -> emit(true, ByteBuffer.wrap(b, off, len)));
                err.drainTo((b, off, len) -> emit(false, ByteBuffer.wrap(b, off, len)));
                flushPartials();
                writeTrailers();
            } catch (IOException e) {
                // the client is gone: the forall is ending
                out.discard();
                err.discard();
            }
        }
    }

    private void writeTrailers() {
        try {
            for (int i = 0; i < trailers.size(); i++) {
                printer.write(trailerToStdout.get(i), trailers.get(i), 0, trailers.get(i).length);
            }
        } catch (IOException e) {
            // the client is gone
        }
        trailers.clear();
        trailerToStdout.clear();
    }

    private void flushPartials() {
        for (int i = 0; i < 2; i++) {
            if (partial[i].size() > 0) {
                byte[] rest = partial[i].toByteArray();
                partial[i].reset();
                try {
                    write(i == 0, rest, 0, rest.length);
                } catch (IOException e) {
                    return;
                }
            }
        }
    }

    /** To the client now: whole lines with --line-buffer, tagged with --tag. */
    private void emit(boolean stdout, ByteBuffer data) throws IOException {
        if (printer.mode != Printer.Mode.LINE && tag == null) {
            printer.write(stdout, data); // as it is: no copy
            return;
        }
        byte[] b = new byte[data.remaining()];
        data.get(b);
        if (printer.mode != Printer.Mode.LINE) {
            write(stdout, b, 0, b.length);
            return;
        }
        int i = stdout ? 0 : 1;
        int last = b.length - 1;
        while (last >= 0 && b[last] != '\n') {
            last--;
        }
        if (last < 0) {
            partial[i].write(b, 0, b.length);
            if (partial[i].size() > LINE_MAX) {
                byte[] all = partial[i].toByteArray();
                partial[i].reset();
                write(stdout, all, 0, all.length);
            }
            return;
        }
        byte[] lines;
        if (partial[i].size() > 0) {
            partial[i].write(b, 0, last + 1);
            lines = partial[i].toByteArray();
            partial[i].reset();
        } else {
            lines = java.util.Arrays.copyOf(b, last + 1);
        }
        partial[i].write(b, last + 1, b.length - last - 1);
        write(stdout, lines, 0, lines.length);
    }

    private void write(boolean stdout, byte[] b, int off, int len) throws IOException {
        if (tag != null) {
            ByteArrayOutputStream t = new ByteArrayOutputStream(len + 64);
            int i = stdout ? 0 : 1;
            for (int k = off; k < off + len; k++) {
                if (lineStart[i]) {
                    t.write(tag, 0, tag.length);
                }
                t.write(b[k]);
                lineStart[i] = b[k] == '\n';
            }
            b = t.toByteArray();
            off = 0;
            len = b.length;
        }
        printer.write(stdout, b, off, len);
    }
}

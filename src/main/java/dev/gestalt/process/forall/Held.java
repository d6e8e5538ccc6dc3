package dev.gestalt.process.forall;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.ArrayList;
import java.util.List;

/**
 * One stream (stdout or stderr) of one task's output, held until it may be printed: in memory,
 * then, once memory is short, in a spill file (everything after the first spilled byte goes
 * there too, so the order is kept). Not thread-safe: used by one task's thread, then by the
 * printer after the task has ended.
 */
final class Held {

    /** Receives held output in order. */
    interface Sink {
        void write(byte[] b, int off, int len) throws IOException;
    }

    private final OutputBudget budget;
    private final List<byte[]> memory = new ArrayList<>();
    private long memoryBytes;
    private FileChannel spill;
    private long spillBytes;

    Held(OutputBudget budget) {
        this.budget = budget;
    }

    long memoryBytes() {
        return memoryBytes;
    }

    boolean spilling() {
        return spill != null;
    }

    boolean isEmpty() {
        return memoryBytes == 0 && spillBytes == 0;
    }

    /** Keeps {@code data} in memory: the caller has taken its size from the budget. */
    void keep(ByteBuffer data) {
        byte[] b = new byte[data.remaining()];
        data.get(b);
        memory.add(b);
        memoryBytes += b.length;
    }

    /** Appends {@code data} to the spill file: the caller has taken its size from the budget. */
    void spill(ByteBuffer data) throws IOException {
        if (spill == null) {
            spill = budget.newSpillFile();
        }
        int n = data.remaining();
        while (data.hasRemaining()) {
            spill.write(data);
        }
        spillBytes += n;
    }

    /** Everything held, in order, to {@code sink}; then forgets it and gives its budget back. */
    void drainTo(Sink sink) throws IOException {
        try {
            for (byte[] b : memory) {
                sink.write(b, 0, b.length);
            }
            if (spill != null) {
                ByteBuffer buf = ByteBuffer.allocate(256 * 1024);
                long at = 0;
                while (at < spillBytes) {
                    buf.clear();
                    int n = spill.read(buf, at);
                    if (n < 0) {
                        throw new IOException("the spill file ended early");
                    }
                    sink.write(buf.array(), 0, n);
                    at += n;
                }
            }
        } finally {
            discard();
        }
    }

    /** Forgets what is held and gives its budget back. */
    void discard() {
        memory.clear();
        budget.releaseMemory(memoryBytes);
        memoryBytes = 0;
        budget.releaseSpill(spillBytes);
        spillBytes = 0;
        if (spill != null) {
            try {
                spill.close();
            } catch (IOException e) {
                // unlinked already: closing frees it
            }
            spill = null;
        }
    }
}

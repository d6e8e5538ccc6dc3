package dev.gestalt.process.forall;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;

/**
 * Lines of an input source as they arrive (the client's stdin, or an argument file read by a
 * process of the caller's): each line one argument, empty lines included, the last line with
 * or without its newline. Bounded: the producer waits while {@code capacity} bytes of lines
 * are unread (stdin is instead sent within credit the consumer gives back, see
 * {@link #consumed}); a line longer than {@link #MAX_LINE} is an error.
 */
final class LineSource {

    static final int MAX_LINE = 1 << 20;

    private final String name;
    private final long capacity;
    private final ArrayDeque<String> lines = new ArrayDeque<>();
    private final ByteArrayOutputStream partial = new ByteArrayOutputStream();
    private long queuedBytes;
    private long consumed;
    private boolean ended;
    private String error;

    /** @param name what the source is, for errors ("stdin", "FILE") */
    LineSource(String name, long capacity) {
        this.name = name;
        this.capacity = capacity;
    }

    String name() {
        return name;
    }

    /** More bytes of the source; with {@code wait}, waits while the unread lines fill the capacity. */
    synchronized void feed(byte[] b, int off, int len, boolean wait) throws InterruptedException {
        int start = off;
        for (int i = off; i < off + len; i++) {
            if (b[i] == '\n') {
                partial.write(b, start, i - start);
                add(partial.toString(StandardCharsets.UTF_8), partial.size() + 1);
                partial.reset();
                start = i + 1;
            }
        }
        partial.write(b, start, off + len - start);
        if (partial.size() > MAX_LINE) {
            fail("a line of " + name + " is longer than " + (MAX_LINE >> 20) + " MiB");
        }
        notifyAll();
        while (wait && queuedBytes > capacity && error == null && !ended) {
            wait();
        }
    }

    private void add(String line, long bytes) {
        lines.add(line);
        queuedBytes += bytes;
    }

    /** The source is complete. */
    synchronized void end() {
        if (partial.size() > 0) {
            add(partial.toString(StandardCharsets.UTF_8), partial.size());
            partial.reset();
        }
        ended = true;
        notifyAll();
    }

    /** The source cannot be read to its end (the reason is reported by {@link #next}). */
    synchronized void fail(String why) {
        if (!ended) { // a source read whole stays good
            error = why;
            ended = true;
        }
        notifyAll();
    }

    /** The next line, or null at the end. */
    synchronized String next() throws InterruptedException, ForallFailure {
        while (lines.isEmpty() && !ended) {
            wait();
        }
        if (error != null) {
            throw new ForallFailure(error);
        }
        String l = lines.poll();
        if (l != null) {
            long bytes = l.getBytes(StandardCharsets.UTF_8).length + 1L;
            queuedBytes -= bytes;
            consumed += bytes;
            notifyAll();
        }
        return l;
    }

    /** Bytes taken by {@link #next} since the last call (to give back as stdin credit). */
    synchronized long consumed() {
        long c = consumed;
        consumed = 0;
        return c;
    }
}

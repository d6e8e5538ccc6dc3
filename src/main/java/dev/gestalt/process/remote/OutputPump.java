package dev.gestalt.process.remote;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import java.io.IOException;
import java.io.InputStream;

/**
 * Output of a process (its pipe, its terminal, or its log followed) to a gRPC stream, a
 * message per read(2): the one loop behind {@code run}'s stdout and stderr, {@code attach}
 * and {@code logs}. A large read is sent without a copy (the buffer goes with the message, and
 * a new one is taken: the in-process transport hands the message itself to the other side); a
 * small one is copied. Ends at EOF, or at an IOException: a broken stream, the EIO of a
 * terminal whose last process left it, a pipe closed under the reader.
 */
final class OutputPump {
    /** A read this large filled a default (64 KiB) pipe: bulk data (see Job#bulkIo). */
    static final int BULK = 64 * 1024;

    /**
     * The first buffer: most short jobs print less (or nothing), and a chunk-sized one for each of
     * their two streams (256 KiB) was most of what the daemon allocated per job. The first read
     * that fills it moves on to chunk-sized ones.
     */
    static final int FIRST = 8 * 1024;

    /** Where each chunk goes: typically a FlowSender, which waits while the stream is not ready. */
    interface Sink {
        void send(ByteString chunk) throws IOException;
    }

    private OutputPump() {}

    /**
     * @param chunk  the largest read, and message
     * @param onBulk run at each read of {@link #BULK} bytes or more (null: nothing)
     */
    static void run(InputStream in, int chunk, Sink sink, Runnable onBulk) {
        byte[] buf = new byte[Math.min(chunk, FIRST)];
        try (in) {
            int n;
            while ((n = in.read(buf, 0, buf.length)) >= 0) {
                if (n == 0) {
                    continue;
                }
                if (n >= BULK && onBulk != null) {
                    onBulk.run();
                }
                ByteString b;
                if (n >= chunk / 8 || n == buf.length) { // a large read, or the first buffer filled: more comes
                    b = UnsafeByteOperations.unsafeWrap(buf, 0, n);
                    buf = new byte[chunk];
                } else {
                    b = ByteString.copyFrom(buf, 0, n);
                }
                sink.send(b);
            }
        } catch (IOException e) {
            // the end (see the class comment)
        }
    }
}

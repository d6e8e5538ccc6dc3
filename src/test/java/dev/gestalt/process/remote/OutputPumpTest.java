package dev.gestalt.process.remote;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The loop behind every output stream: every byte once and in order, whatever the reads return. */
class OutputPumpTest {

    /** Returns the bytes in reads of the given sizes (each at most what the caller asked for). */
    private static InputStream reads(byte[] data, int... sizes) {
        return new InputStream() {
            int pos;
            int i;

            @Override
            public int read() {
                throw new UnsupportedOperationException();
            }

            @Override
            public int read(byte[] b, int off, int len) {
                if (pos == data.length) {
                    return -1;
                }
                int n = Math.min(Math.min(len, data.length - pos), sizes[Math.min(i++, sizes.length - 1)]);
                System.arraycopy(data, pos, b, off, n);
                pos += n;
                return n;
            }
        };
    }

    private static byte[] data(int size) {
        byte[] d = new byte[size];
        new Random(size).nextBytes(d);
        return d;
    }

    private static List<ByteString> pump(InputStream in, int chunk, AtomicInteger bulk) {
        List<ByteString> got = new ArrayList<>();
        OutputPump.run(in, chunk, got::add, bulk::incrementAndGet);
        return got;
    }

    private static byte[] joined(List<ByteString> chunks) {
        var out = new ByteArrayOutputStream();
        chunks.forEach(c -> out.writeBytes(c.toByteArray()));
        return out.toByteArray();
    }

    @Test
    void aShortJobsFewBytesComeInOneMessage() {
        byte[] d = data(100);
        var got = pump(reads(d, 100), 256 * 1024, new AtomicInteger());
        assertEquals(1, got.size());
        assertArrayEquals(d, joined(got));
    }

    @Test
    void bulkOutputMovesFromTheSmallFirstBufferToFullChunks() {
        int chunk = 256 * 1024;
        byte[] d = data(3 * chunk + 5);
        var bulk = new AtomicInteger();
        var got = pump(reads(d, Integer.MAX_VALUE), chunk, bulk);
        assertEquals(OutputPump.FIRST, got.getFirst().size(), "the first read is the small buffer's");
        assertEquals(chunk, got.get(1).size(), "then reads fill whole chunks");
        assertArrayEquals(d, joined(got));
        assertTrue(bulk.get() >= 3, "large reads are reported as bulk: " + bulk.get());
    }

    @Test
    void messagesNeverShareABufferThatIsWrittenAgain() {
        // reads that fill the first buffer are handed over without a copy: the next read must not
        // write into the message already sent
        byte[] d = data(10 * OutputPump.FIRST + 17);
        var got = pump(reads(d, OutputPump.FIRST, 3, OutputPump.FIRST, 40_000, 1, Integer.MAX_VALUE), 32 * 1024,
            new AtomicInteger());
        assertArrayEquals(d, joined(got));
    }

    @Test
    void anIoExceptionEndsThePumpAfterWhatCameBefore() {
        var in = new InputStream() {
            boolean first = true;

            @Override
            public int read() {
                throw new UnsupportedOperationException();
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (first) {
                    first = false;
                    b[off] = 'x';
                    return 1;
                }
                throw new IOException("EIO");
            }
        };
        var got = pump(in, 1024, new AtomicInteger());
        assertArrayEquals(new byte[] {'x'}, joined(got));
    }
}

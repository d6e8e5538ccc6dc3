package dev.gestalt.rpc.local;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.GatheringByteChannel;
import java.nio.channels.WritableByteChannel;

/**
 * Reads and writes {@link Frame}s on a blocking byte channel. Reads come from
 * one thread; writes may come from several and are serialised. A write blocks
 * while the peer is not reading: that is the backpressure of the protocol.
 */
public final class FrameChannel implements AutoCloseable {

    private final ByteChannel channel;
    private final ByteBuffer header = ByteBuffer.allocate(5);
    private final ByteBuffer outHeader = ByteBuffer.allocate(5);
    private final Object writeLock = new Object();

    public FrameChannel(ByteChannel channel) {
        this.channel = channel;
    }

    /** A frame's type and payload length, read before its payload. */
    public record Header(byte type, int length) {}

    /** The next frame, or {@code null} at a clean end of stream. */
    public Frame read() throws IOException {
        Header h = readHeader();
        return h == null ? null : readPayload(h);
    }

    /** The frame whose header was just read, with its payload. */
    public Frame readPayload(Header h) throws IOException {
        byte[] payload = h.length() == 0 ? Frame.EMPTY : new byte[h.length()];
        if (payload.length > 0) {
            fill(ByteBuffer.wrap(payload), false);
        }
        return new Frame(h.type(), payload);
    }

    /** The next frame's header, or {@code null} at a clean end of stream; its payload must be read next. */
    public Header readHeader() throws IOException {
        header.clear();
        if (!fill(header, true)) {
            return null;
        }
        header.flip();
        int length = header.getInt();
        byte type = header.get();
        if (length < 1 || length - 1 > Frame.MAX_PAYLOAD) {
            throw new IOException("bad frame length " + length);
        }
        return new Header(type, length - 1);
    }

    /** Copies the payload of the frame whose header was just read to {@code out}, through {@code buf}, without allocating. */
    public void transferPayload(Header h, WritableByteChannel out, ByteBuffer buf) throws IOException {
        int left = h.length();
        while (left > 0) {
            buf.clear().limit(Math.min(buf.capacity(), left));
            fill(buf, false);
            buf.flip();
            left -= buf.remaining();
            while (buf.hasRemaining()) {
                out.write(buf);
            }
        }
    }

    public void write(Frame f) throws IOException {
        write(f.type(), f.payload(), 0, f.payload().length);
    }

    public void write(byte type, byte[] data, int off, int len) throws IOException {
        synchronized (writeLock) {
            do {
                int chunk = Math.min(len, Frame.MAX_PAYLOAD);
                outHeader.clear();
                outHeader.putInt(chunk + 1).put(type).flip();
                writeFully(outHeader);
                if (chunk > 0) {
                    writeFully(ByteBuffer.wrap(data, off, chunk));
                }
                off += chunk;
                len -= chunk;
            } while (len > 0);
        }
    }

    /** One frame from a buffer (at most MAX_PAYLOAD bytes), header and payload in one gathering write. */
    public void write(byte type, ByteBuffer payload) throws IOException {
        if (payload.remaining() > Frame.MAX_PAYLOAD) {
            byte[] b = new byte[payload.remaining()];
            payload.get(b);
            write(type, b, 0, b.length);
            return;
        }
        synchronized (writeLock) {
            outHeader.clear();
            outHeader.putInt(payload.remaining() + 1).put(type).flip();
            ByteBuffer[] both = {outHeader, payload};
            if (channel instanceof GatheringByteChannel g) {
                while (outHeader.hasRemaining() || payload.hasRemaining()) {
                    g.write(both);
                }
            } else {
                writeFully(outHeader);
                writeFully(payload);
            }
        }
    }

    private void writeFully(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            channel.write(b);
        }
    }

    private boolean fill(ByteBuffer b, boolean eofAllowedAtStart) throws IOException {
        boolean first = true;
        while (b.hasRemaining()) {
            int n = channel.read(b);
            if (n < 0) {
                if (first && eofAllowedAtStart && b.position() == 0) {
                    return false;
                }
                throw new EOFException("connection closed in the middle of a frame");
            }
            first = false;
        }
        return true;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}

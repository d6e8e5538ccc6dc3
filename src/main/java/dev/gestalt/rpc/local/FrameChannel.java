package dev.gestalt.rpc.local;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;

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

    /** The next frame, or {@code null} at a clean end of stream. */
    public Frame read() throws IOException {
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
        byte[] payload = length == 1 ? Frame.EMPTY : new byte[length - 1];
        if (payload.length > 0) {
            fill(ByteBuffer.wrap(payload), false);
        }
        return new Frame(type, payload);
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

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
    /**
     * Bytes read ahead of the frame being parsed (read mode: position..limit are received and not
     * yet consumed), so that one read(2) brings several frames, or a large part of one. Allocated
     * on the first read.
     */
    private ByteBuffer in;
    private final int readBuffer;
    private final boolean directRead;
    private final ByteBuffer outHeader = ByteBuffer.allocate(5);
    private final Object writeLock = new Object();
    /** System.nanoTime() at the end of the last frame written. */
    private volatile long lastWrite = System.nanoTime();

    /** A channel with a small heap read buffer (a node has one per client). */
    public FrameChannel(ByteChannel channel) {
        this(channel, 16 * 1024, false);
    }

    /**
     * @param readBuffer bytes read ahead at most
     * @param direct     a direct read buffer: {@link #transferPayload} then writes output from it without a copy
     */
    public FrameChannel(ByteChannel channel, int readBuffer, boolean direct) {
        this.channel = channel;
        this.readBuffer = readBuffer;
        this.directRead = direct;
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
        if (h.length() == 0) {
            return new Frame(h.type(), Frame.EMPTY);
        }
        byte[] payload = new byte[h.length()];
        int have = Math.min(in.remaining(), payload.length);
        in.get(payload, 0, have);
        if (have < payload.length) {
            ByteBuffer rest = ByteBuffer.wrap(payload, have, payload.length - have);
            while (rest.hasRemaining()) {
                if (channel.read(rest) < 0) {
                    throw new EOFException("connection closed in the middle of a frame");
                }
            }
        }
        return new Frame(h.type(), payload);
    }

    /** The next frame's header, or {@code null} at a clean end of stream; its payload must be read next. */
    public Header readHeader() throws IOException {
        return readHeader(Frame.MAX_PAYLOAD);
    }

    /** As {@link #readHeader()}, with payloads up to {@code maxPayload} bytes. */
    public Header readHeader(int maxPayload) throws IOException {
        if (in == null) {
            in = (directRead ? ByteBuffer.allocateDirect(readBuffer) : ByteBuffer.allocate(readBuffer)).flip();
        }
        if (!fill(5, true)) {
            return null;
        }
        int length = in.getInt();
        byte type = in.get();
        if (length < 1 || length - 1 > maxPayload) {
            throw new IOException("bad frame length " + length);
        }
        return new Header(type, length - 1);
    }

    /** Copies the payload of the frame whose header was just read to {@code out}, from the read buffer, without allocating. */
    public void transferPayload(Header h, WritableByteChannel out) throws IOException {
        int left = h.length();
        while (left > 0) {
            if (!in.hasRemaining()) {
                fill(1, false);
            }
            int n = Math.min(in.remaining(), left);
            ByteBuffer part = in.slice(in.position(), n);
            while (part.hasRemaining()) {
                out.write(part);
            }
            in.position(in.position() + n);
            left -= n;
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
            lastWrite = System.nanoTime();
        }
    }

    /** One frame of any size up to {@link Frame#MAX_REQUEST} (the request), never split. */
    public void writeWhole(Frame f) throws IOException {
        synchronized (writeLock) {
            outHeader.clear();
            outHeader.putInt(f.payload().length + 1).put(f.type()).flip();
            writeFully(outHeader);
            writeFully(ByteBuffer.wrap(f.payload()));
            lastWrite = System.nanoTime();
        }
    }

    /** System.nanoTime() when the last frame was written. */
    public long lastWrite() {
        return lastWrite;
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
            lastWrite = System.nanoTime();
        }
    }

    private void writeFully(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            channel.write(b);
        }
    }

    /** Reads until at least {@code n} bytes are buffered; false at a clean end of stream before the first of them. */
    private boolean fill(int n, boolean eofAllowedAtStart) throws IOException {
        if (in.remaining() >= n) {
            return true;
        }
        in.compact();
        try {
            while (in.position() < n) {
                if (channel.read(in) < 0) {
                    if (eofAllowedAtStart && in.position() == 0) {
                        return false;
                    }
                    throw new EOFException("connection closed in the middle of a frame");
                }
            }
        } finally {
            in.flip();
        }
        return true;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}

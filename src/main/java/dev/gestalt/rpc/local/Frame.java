package dev.gestalt.rpc.local;

/**
 * One frame of the local protocol between the CLI and its node, over the
 * node's Unix socket: {@code int length, byte type, payload[length - 1]}.
 *
 * <p>Every CLI command is a session: the client sends one {@link #REQUEST},
 * then input frames; the node answers with output frames and ends with
 * {@link #EXIT}. The protocol is deliberately tiny (no protobuf, no gRPC) so
 * that the CLI starts in a few milliseconds; node-to-node traffic is gRPC.
 */
public record Frame(byte type, byte[] payload) {

    // client -> node
    public static final byte REQUEST = 0x01;
    public static final byte STDIN = 0x02;
    public static final byte STDIN_EOF = 0x03;
    public static final byte SIGNAL = 0x04;
    public static final byte RESIZE = 0x05;

    // node -> client
    public static final byte STDOUT = 0x11;
    public static final byte STDERR = 0x12;
    public static final byte EXIT = 0x13;
    /** Grants the client this many more bytes of stdin (int); stdin is sent only within the grant. */
    public static final byte CREDIT = 0x14;

    /** Largest payload either side sends or accepts. */
    public static final int MAX_PAYLOAD = 1 << 20;

    static final byte[] EMPTY = new byte[0];

    public static Frame of(byte type) {
        return new Frame(type, EMPTY);
    }

    public static Frame ofInt(byte type, int value) {
        return new Frame(type, new byte[] {
            (byte) (value >>> 24), (byte) (value >>> 16), (byte) (value >>> 8), (byte) value});
    }

    public static Frame ofInts(byte type, int a, int b) {
        byte[] p = new byte[8];
        putInt(p, 0, a);
        putInt(p, 4, b);
        return new Frame(type, p);
    }

    public int intAt(int offset) {
        return ((payload[offset] & 0xff) << 24) | ((payload[offset + 1] & 0xff) << 16)
            | ((payload[offset + 2] & 0xff) << 8) | (payload[offset + 3] & 0xff);
    }

    static void putInt(byte[] b, int off, int v) {
        b[off] = (byte) (v >>> 24);
        b[off + 1] = (byte) (v >>> 16);
        b[off + 2] = (byte) (v >>> 8);
        b[off + 3] = (byte) v;
    }
}

package dev.gestalt.rpc.local;

/**
 * One frame of the local protocol between the CLI and its node, over the
 * node's Unix socket: {@code int length, byte type, payload[length - 1]}.
 *
 * <p>Every CLI command is a session: the node greets the client with {@link #HELLO} as soon
 * as it accepts the connection; only then does the client send one {@link #REQUEST} (so a
 * frozen node that wakes up later never finds a request to run), then input frames; the node
 * answers with output frames and ends with {@link #EXIT}. While a session lasts the node is
 * never silent for long: it sends {@link #KEEPALIVE} after {@link #KEEPALIVE_MILLIS} without
 * another frame, and at once after each {@link #SIGNAL}, so that a client tells a node that
 * stopped answering (frozen, cut off) from one that has nothing to say, within
 * {@link #ANSWER_TIMEOUT_MILLIS}. The protocol is deliberately tiny (no protobuf, no gRPC) so
 * that the CLI starts in a few milliseconds; node-to-node traffic is gRPC. The native client
 * ({@code src/main/c/gestalt-run.c}) speaks it too: keep both in step.
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
    /** The node's first frame: its name (UTF-8). The client sends its request only after it. */
    public static final byte HELLO = 0x15;
    /** No payload: the node is alive (after a silence, and as the receipt of a SIGNAL). */
    public static final byte KEEPALIVE = 0x16;
    /** int: 1 the program has a terminal (an interactive client puts its own in raw mode now), 0 it has none. */
    public static final byte TERMINAL = 0x17;

    /** Largest payload either side sends or accepts, but for the request. */
    public static final int MAX_PAYLOAD = 1 << 20;
    /**
     * Largest request: arguments and environment up to the kernel's own limit on them, with room
     * for the encoding (on Linux they take at most a quarter of the stack limit, and never more
     * than 6 MiB).
     */
    public static final int MAX_REQUEST = 8 << 20;

    /** The node sends a frame at least this often while a session lasts. */
    public static final long KEEPALIVE_MILLIS = 2_000;
    /** A client waiting for its node that hears nothing this long gives up on it ("not answering"). */
    public static final long ANSWER_TIMEOUT_MILLIS = 10_000;
    /** How long a client waits for the greeting before it tries the next node. */
    public static final long HELLO_TIMEOUT_MILLIS = 5_000;
    /** A signal forwarded to a node that shows no sign of life this long after is not delivered: the client ends. */
    public static final long SIGNAL_RECEIPT_MILLIS = 3_000;

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

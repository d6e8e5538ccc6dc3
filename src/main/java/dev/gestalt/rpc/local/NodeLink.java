package dev.gestalt.rpc.local;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.GatheringByteChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A client's connection to its node, with a clock on it (see {@link Frame}: the node greets, then
 * is never silent for long). A node that keeps a waiting client without a byte for
 * {@link Frame#ANSWER_TIMEOUT_MILLIS} (frozen, cut off, wedged), or a forwarded signal without a
 * receipt for {@link Frame#SIGNAL_RECEIPT_MILLIS}, is given up: the socket is closed, which ends
 * every read and write blocked on it, and {@link #verdict()} says why. Time spent writing the
 * client's own stdout (a slow reader downstream) does not count: only waiting for the node does.
 *
 * <p>One daemon thread reads the clocks a few times a second, so that the reading and writing
 * threads stay plain blocking calls (the CLI's socket reads are its hot path).
 */
public final class NodeLink implements AutoCloseable {

    /** Why the client gave up on its node. */
    public sealed interface Verdict {
        /** The node sent nothing for too long while the client waited for it. */
        record NotAnswering(String node) implements Verdict {}

        /** A terminating signal the node did not acknowledge: the client ends as the signal would end it. */
        record SignalNotDelivered(String node, int signal) implements Verdict {}
    }

    /** The node at {@code socket} did not greet in time: the next node may. */
    public static final class NotAnsweringException extends IOException {
        NotAnsweringException(String message) {
            super(message);
        }
    }

    private static final long TICK_MILLIS = 200;

    private final SocketChannel socket;
    private final Path path;
    private final FrameChannel frames;
    private volatile String node;
    private volatile long timeoutNanos;
    /** When the read in progress started (System.nanoTime()), 0 when none is. */
    private volatile long readingSince;
    /** A forwarded signal not yet followed by a byte from the node: when it was sent, and which. */
    private volatile long signalSince;
    private volatile int signal;
    private volatile boolean signalWritten;
    private volatile Verdict verdict;
    private volatile Runnable onVerdict = () -> { };
    private volatile boolean closed;

    private NodeLink(SocketChannel socket, Path path, int readBuffer, boolean direct) {
        this.socket = socket;
        this.path = path;
        this.node = path.toString();
        this.frames = new FrameChannel(new Watched(), readBuffer, direct);
    }

    /**
     * Connects to the node at {@code socket} and waits up to {@code helloMillis} for its greeting.
     *
     * @throws NotAnsweringException when it does not come in time (the node is frozen or wedged)
     * @throws IOException when there is no node there
     */
    public static NodeLink open(Path socket, long helloMillis, int readBuffer, boolean direct) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        NodeLink link;
        try {
            ch.connect(UnixDomainSocketAddress.of(socket));
            link = new NodeLink(ch, socket, readBuffer, direct);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
        link.timeoutNanos = TimeUnit.MILLISECONDS.toNanos(helloMillis);
        link.startClock();
        try {
            Frame hello = link.frames.read();
            if (hello == null || hello.type() != Frame.HELLO) {
                throw new IOException("the node at " + socket + " does not speak this protocol: use the same Gestalt version for CLI and node");
            }
            link.node = new String(hello.payload(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            link.close();
            if (link.verdict != null) {
                throw new NotAnsweringException("the node at " + socket + " is not answering");
            }
            throw e;
        }
        link.timeoutNanos = TimeUnit.MILLISECONDS.toNanos(Frame.ANSWER_TIMEOUT_MILLIS);
        return link;
    }

    /** The node's name (from its greeting). */
    public String node() {
        return node;
    }

    public Path socket() {
        return path;
    }

    public FrameChannel frames() {
        return frames;
    }

    /** Why the link was given up, or null. */
    public Verdict verdict() {
        return verdict;
    }

    /** Runs on the clock's thread once a verdict is reached, after the socket is closed. */
    public void onVerdict(Runnable r) {
        onVerdict = r;
    }

    /** A terminating signal is about to be forwarded: it must be acknowledged in time. */
    public void signalForwarded(int signalNumber) {
        if (signalSince == 0) {
            signal = signalNumber;
            signalWritten = false;
            signalSince = System.nanoTime();
        }
    }

    /** The frame of the signal reported by {@link #signalForwarded} is written. */
    public void signalWritten() {
        signalWritten = true;
    }

    private void startClock() {
        Thread t = new Thread(this::clock, "node-clock");
        t.setDaemon(true);
        t.start();
    }

    private void clock() {
        long receipt = TimeUnit.MILLISECONDS.toNanos(Frame.SIGNAL_RECEIPT_MILLIS);
        while (!closed) {
            try {
                Thread.sleep(TICK_MILLIS);
            } catch (InterruptedException e) {
                return;
            }
            long now = System.nanoTime();
            long reading = readingSince;
            long sig = signalSince;
            Verdict v = null;
            if (sig != 0 && now - sig > receipt && (reading != 0 || !signalWritten)) {
                v = new Verdict.SignalNotDelivered(node, signal);
            } else if (reading != 0 && now - reading > timeoutNanos) {
                v = new Verdict.NotAnswering(node);
            }
            if (v != null && !closed) {
                verdict = v;
                close();
                onVerdict.run();
                return;
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            socket.close();
        } catch (IOException e) {
            // closing anyway
        }
    }

    /** The socket, with the time of each read noted for the clock. */
    private final class Watched implements ByteChannel, GatheringByteChannel {
        @Override
        public int read(ByteBuffer dst) throws IOException {
            readingSince = System.nanoTime();
            try {
                int n = socket.read(dst);
                if (n != 0) {
                    signalSince = 0;
                }
                return n;
            } finally {
                readingSince = 0;
            }
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            return socket.write(src);
        }

        @Override
        public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
            return socket.write(srcs, offset, length);
        }

        @Override
        public long write(ByteBuffer[] srcs) throws IOException {
            return socket.write(srcs);
        }

        @Override
        public boolean isOpen() {
            return socket.isOpen();
        }

        @Override
        public void close() throws IOException {
            NodeLink.this.close();
        }
    }
}

package dev.gestalt.rpc.local;

import dev.gestalt.command.Commands;
import dev.gestalt.command.ParsedArgs;
import dev.gestalt.command.UsageException;
import dev.gestalt.os.PeerCredentials;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.logging.Logger;

/**
 * One CLI connection on the node: the request, the caller as the kernel
 * reported it (SO_PEERCRED), and the frames back to the client.
 *
 * <p>The node keeps its side of the protocol's liveness here: a heartbeat thread sends
 * {@link Frame#KEEPALIVE} whenever nothing else was sent for {@link Frame#KEEPALIVE_MILLIS},
 * and at once as the receipt of each signal. Stdin is taken only within the credit granted:
 * a client that sends more is cut off, so no client makes the node buffer without bound.
 */
public final class ClientSession {

    private static final Logger LOG = Logger.getLogger(ClientSession.class.getName());

    private final FrameChannel channel;
    private final Request request;
    private final PeerCredentials caller;
    private volatile boolean gone;
    private volatile boolean ended;
    /** Stdin bytes the client may still send: granted, not yet received. */
    private final AtomicLong credit = new AtomicLong();
    private volatile boolean receiptDue;
    private volatile Thread heartbeat;
    private ParsedArgs args;

    ClientSession(FrameChannel channel, Request request, PeerCredentials caller) {
        this.channel = channel;
        this.request = request;
        this.caller = caller;
    }

    public Request request() {
        return request;
    }

    /** The request's arguments, parsed and checked against the command's grammar (once). */
    public ParsedArgs args() throws UsageException {
        if (args == null) {
            args = Commands.parse(request.command(), request.args());
        }
        return args;
    }

    public PeerCredentials caller() {
        return caller;
    }

    public boolean isRoot() {
        return caller.uid() == 0;
    }

    public boolean clientGone() {
        return gone;
    }

    FrameChannel frames() {
        return channel;
    }

    public void stdout(byte[] b, int off, int len) throws IOException {
        channel.write(Frame.STDOUT, b, off, len);
    }

    public void stderr(byte[] b, int off, int len) throws IOException {
        channel.write(Frame.STDERR, b, off, len);
    }

    /** Output without copying it first (e.g. a protobuf ByteString's buffer). */
    public void stdout(java.nio.ByteBuffer b) throws IOException {
        channel.write(Frame.STDOUT, b);
    }

    public void stderr(java.nio.ByteBuffer b) throws IOException {
        channel.write(Frame.STDERR, b);
    }

    /** Text to the client's stdout; a vanished client is noticed by the reader, not here. */
    public void out(String s) {
        write(Frame.STDOUT, s);
    }

    public void err(String s) {
        write(Frame.STDERR, s);
    }

    /** Tells the client whether the program has a terminal (an interactive client goes raw on yes). */
    public void terminal(boolean yes) {
        try {
            channel.write(Frame.ofInt(Frame.TERMINAL, yes ? 1 : 0));
        } catch (IOException e) {
            gone = true;
        }
    }

    private void write(byte type, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        try {
            channel.write(type, b, 0, b.length);
        } catch (IOException e) {
            gone = true;
            throw new UncheckedIOException(e);
        }
    }

    public void grantStdin(int bytes) {
        credit.addAndGet(bytes);
        try {
            channel.write(Frame.ofInt(Frame.CREDIT, bytes));
        } catch (IOException e) {
            gone = true;
        }
    }

    void exit(int code) throws IOException {
        channel.write(Frame.ofInt(Frame.EXIT, code));
    }

    /**
     * Reads the client's frames until the client goes away, on a platform thread: blocking reads
     * of the socket then wait in the kernel, not through the virtual-thread poller (a hand-off per
     * read, which bounded stdin throughput).
     */
    public void startInput(InputListener l) {
        Thread.ofPlatform().daemon().name("client-input").start(() -> readInput(l));
    }

    /**
     * For a command that takes no input (wait, logs): runs {@code r} once the client goes away
     * (it left, was interrupted, or broke the protocol). A virtual thread: it only waits.
     */
    public void onGone(Runnable r) {
        Thread.ofVirtual().name("client-gone").start(() -> readInput(new InputListener() {
            @Override
            public void gone() {
                r.run();
            }
        }));
    }

    private void readInput(InputListener l) {
        try {
            Frame f;
            while ((f = channel.read()) != null) {
                switch (f.type()) {
                    case Frame.STDIN -> {
                        if (credit.addAndGet(-f.payload().length) < 0) {
                            LOG.warning("a client of uid " + caller.uid() + " sent stdin beyond its credit: session ended");
                            err("gestalt: protocol error: stdin beyond the node's credit\n");
                            throw new IOException("stdin beyond credit");
                        }
                        l.stdin(f.payload());
                    }
                    case Frame.STDIN_EOF -> l.stdinEof();
                    case Frame.SIGNAL -> {
                        l.signal(f.intAt(0));
                        receipt();
                    }
                    case Frame.RESIZE -> l.resize(f.intAt(0), f.intAt(4));
                    default -> { }
                }
            }
        } catch (IOException | UncheckedIOException | IndexOutOfBoundsException e) {
            // disconnected, or a frame too short for what it says it is
        }
        gone = true;
        l.gone();
    }

    /** Starts the heartbeat (see the class comment); {@link #end} stops it. */
    void startHeartbeat() {
        heartbeat = Thread.ofVirtual().name("client-heartbeat").start(this::beat);
    }

    /** The handler returned: no more keepalives. */
    void end() {
        ended = true;
        Thread t = heartbeat;
        if (t != null) {
            LockSupport.unpark(t);
        }
    }

    private void receipt() {
        receiptDue = true;
        Thread t = heartbeat;
        if (t != null) {
            LockSupport.unpark(t);
        }
    }

    private void beat() {
        long period = TimeUnit.MILLISECONDS.toNanos(Frame.KEEPALIVE_MILLIS);
        try {
            while (!ended && !gone) {
                long idle = System.nanoTime() - channel.lastWrite();
                if (receiptDue || idle >= period) {
                    receiptDue = false;
                    channel.write(Frame.of(Frame.KEEPALIVE));
                } else {
                    LockSupport.parkNanos(period - idle);
                }
            }
        } catch (IOException e) {
            gone = true;
        }
    }
}

package dev.gestalt.rpc.local;

import dev.gestalt.os.PeerCredentials;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * One CLI connection on the node: the request, the caller as the kernel
 * reported it (ids, groups, limits: {@link PeerCredentials}), and the frames
 * back to the client.
 */
public final class ClientSession {

    private final FrameChannel channel;
    private final Request request;
    private final PeerCredentials caller;
    private volatile boolean gone;

    ClientSession(FrameChannel channel, Request request, PeerCredentials caller) {
        this.channel = channel;
        this.request = request;
        this.caller = caller;
    }

    public Request request() {
        return request;
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
        Thread.ofPlatform().daemon().name("client-input").start(() -> {
            try {
                Frame f;
                while ((f = channel.read()) != null) {
                    switch (f.type()) {
                        case Frame.STDIN -> l.stdin(f.payload());
                        case Frame.STDIN_EOF -> l.stdinEof();
                        case Frame.SIGNAL -> l.signal(f.intAt(0));
                        case Frame.RESIZE -> l.resize(f.intAt(0), f.intAt(4));
                        default -> { }
                    }
                }
            } catch (IOException e) {
                // disconnected
            }
            gone = true;
            l.gone();
        });
    }
}

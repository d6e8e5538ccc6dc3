package dev.gestalt.rpc.local;

import dev.gestalt.command.Commands;
import dev.gestalt.command.UsageException;
import dev.gestalt.os.PeerCredentials;
import dev.gestalt.rpc.GestaltException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The node's Unix socket for the CLI. The caller's identity comes from the
 * kernel (SO_PEERCRED), never from the request. A node running as root
 * serves every user (socket mode 0666); a node running as a normal user
 * serves only that user (mode 0600, and the peer uid is checked).
 *
 * <p>Each connection is greeted at once ({@link Frame#HELLO}), must send its request within
 * {@link #REQUEST_TIMEOUT_MILLIS}, and is admitted within the bounds of {@link Admission};
 * a refused one gets a one-line reason, never a silent close.
 */
public final class LocalServer implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(LocalServer.class.getName());
    /** A connection that sends no request this long after the greeting is closed. */
    static final long REQUEST_TIMEOUT_MILLIS = 10_000;

    private final Path socket;
    /** The greeting, encoded once: written by the accepting thread itself, so a client waits for no thread start. */
    private final byte[] hello;
    private final int ownerUid;
    private final Map<String, CommandHandler> handlers;
    private final Admission admission = new Admission(Admission.Limits.DEFAULT);
    private final ScheduledExecutorService timeouts = Executors.newSingleThreadScheduledExecutor(
        Thread.ofPlatform().daemon().name("local-timeouts").factory());
    private ServerSocketChannel server;
    private volatile boolean closed;

    public LocalServer(Path socket, String nodeName, int ownerUid, Map<String, CommandHandler> handlers) {
        this.socket = socket;
        byte[] name = nodeName.getBytes(StandardCharsets.UTF_8);
        this.hello = java.nio.ByteBuffer.allocate(5 + name.length).putInt(name.length + 1).put(Frame.HELLO).put(name).array();
        this.ownerUid = ownerUid;
        this.handlers = handlers;
    }

    public void start() throws IOException {
        Files.createDirectories(socket.getParent());
        Files.deleteIfExists(socket);
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString(ownerUid == 0 ? "rw-rw-rw-" : "rw-------"));
        Thread t = new Thread(this::acceptLoop, "local-accept");
        t.setDaemon(true);
        t.start();
    }

    public Path socket() {
        return socket;
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                SocketChannel ch = server.accept();
                try {
                    ch.write(java.nio.ByteBuffer.wrap(hello)); // a new socket's buffer is empty: this never waits
                } catch (IOException e) {
                    ch.close();
                    continue;
                }
                Thread.ofVirtual().name("local-session").start(() -> serve(ch));
            } catch (IOException e) {
                if (!closed) {
                    LOG.log(Level.WARNING, "accept failed", e);
                }
            }
        }
    }

    private void serve(SocketChannel ch) {
        try (FrameChannel frames = new FrameChannel(ch)) {
            PeerCredentials caller = PeerCredentials.of(ch);
            Admission.Ticket ticket;
            try {
                ticket = admission.connect(caller.uid());
            } catch (Admission.Refused e) {
                fail(frames, "gestalt: " + e.getMessage() + "\n", 255);
                return;
            }
            try (ticket) {
                Request request = readRequest(frames, caller, ticket);
                if (request != null) {
                    run(new ClientSession(frames, request, caller));
                }
            }
        } catch (IOException e) {
            // client gone
        }
    }

    /** The request, admitted; null when the connection was refused (and told why) or ended. */
    private Request readRequest(FrameChannel frames, PeerCredentials caller, Admission.Ticket ticket) throws IOException {
        Frame first;
        ScheduledFuture<?> timeout = timeouts.schedule(() -> closeQuietly(frames), REQUEST_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
        try {
            FrameChannel.Header h = frames.readHeader(Integer.MAX_VALUE - 1);
            if (h == null) {
                return null;
            }
            if (h.type() != Frame.REQUEST) {
                fail(frames, "gestalt: the client sent no request: use the same Gestalt version for CLI and node\n", 2);
                return null;
            }
            if (h.length() > Frame.MAX_REQUEST) {
                fail(frames, "gestalt: the request is " + h.length() + " bytes, more than the " + Frame.MAX_REQUEST
                    + " the node takes for arguments and environment\n", 255);
                return null;
            }
            try {
                ticket.request(h.length(), caller.user());
            } catch (Admission.Refused e) {
                fail(frames, "gestalt: " + e.getMessage() + "\n", 255);
                return null;
            }
            first = frames.readPayload(h);
        } finally {
            timeout.cancel(false);
        }
        Request request;
        try {
            request = Request.fromFrame(first);
        } catch (IOException e) {
            fail(frames, "gestalt: bad request: " + (e.getMessage() != null ? e.getMessage() : "truncated") + "\n", 2);
            return null;
        }
        if (ownerUid != 0 && caller.uid() != ownerUid) {
            fail(frames, "gestalt: permission denied: this node runs as uid " + ownerUid
                + " and serves only that user\n", Commands.failureCode(request.command()));
            return null;
        }
        return request;
    }

    private void run(ClientSession session) throws IOException {
        Request request = session.request();
        CommandHandler h = handlers.get(request.command());
        if (h == null) {
            fail(session.frames(), "gestalt: this node does not know the command '" + request.command() + "'\n", 2);
            return;
        }
        session.startHeartbeat();
        int code;
        String message = null;
        try {
            code = h.handle(session);
        } catch (UsageException e) {
            message = "gestalt " + request.command() + ": " + e.getMessage();
            code = 2;
        } catch (GestaltException e) {
            message = "gestalt: " + e.getMessage();
            code = e.exitCode();
        } catch (io.grpc.StatusRuntimeException e) {
            // a call to another node failed where the handler did not say which: still one line in Gestalt's words
            GestaltException g = GestaltException.fromStatus(e, null);
            message = "gestalt: " + g.getMessage();
            code = g.exitCode();
        } catch (UncheckedIOException e) {
            return; // the client went away
        } catch (Exception | Error e) {
            LOG.log(Level.WARNING, "command " + request.command() + " failed", e);
            message = "gestalt: internal error: " + e + " (the node's log has the details)";
            code = Commands.failureCode(request.command());
        } finally {
            session.end();
        }
        if (session.clientGone()) {
            return;
        }
        try {
            if (message != null) {
                session.err(message + "\n");
            }
            session.exit(code);
        } catch (UncheckedIOException e) {
            // the client went away meanwhile
        }
    }

    private static void fail(FrameChannel frames, String message, int code) throws IOException {
        byte[] b = message.getBytes(StandardCharsets.UTF_8);
        frames.write(Frame.STDERR, b, 0, b.length);
        frames.write(Frame.ofInt(Frame.EXIT, code));
    }

    private static void closeQuietly(FrameChannel frames) {
        try {
            frames.close();
        } catch (IOException e) {
            // closing anyway
        }
    }

    @Override
    public void close() throws IOException {
        closed = true;
        timeouts.shutdownNow();
        if (server != null) {
            server.close();
        }
        Files.deleteIfExists(socket);
    }
}

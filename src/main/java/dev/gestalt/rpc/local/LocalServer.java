package dev.gestalt.rpc.local;

import dev.gestalt.command.UsageException;
import dev.gestalt.os.PeerCredentials;
import dev.gestalt.rpc.GestaltException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The node's Unix socket for the CLI. The caller's identity comes from the
 * kernel (SO_PEERCRED), never from the request. A node running as root
 * serves every user (socket mode 0666); a node running as a normal user
 * serves only that user (mode 0600, and the peer uid is checked).
 */
public final class LocalServer implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(LocalServer.class.getName());

    private final Path socket;
    private final int ownerUid;
    private final Map<String, CommandHandler> handlers;
    private ServerSocketChannel server;
    private volatile boolean closed;

    public LocalServer(Path socket, int ownerUid, Map<String, CommandHandler> handlers) {
        this.socket = socket;
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
            Frame first = frames.read();
            if (first == null) {
                return;
            }
            Request request;
            try {
                request = Request.fromFrame(first);
            } catch (IOException e) {
                fail(frames, "gestalt: " + e.getMessage() + "\n", 2);
                return;
            }
            var session = new ClientSession(frames, request, caller);
            if (ownerUid != 0 && caller.uid() != ownerUid) {
                fail(frames, "gestalt: permission denied: this node runs as uid " + ownerUid
                    + " and serves only that user\n", 1);
                return;
            }
            CommandHandler h = handlers.get(request.command());
            if (h == null) {
                fail(frames, "gestalt: this node does not know the command '" + request.command() + "'\n", 2);
                return;
            }
            int code;
            try {
                code = h.handle(session);
            } catch (UsageException e) {
                session.err("gestalt " + request.command() + ": " + e.getMessage() + "\n");
                code = 2;
            } catch (GestaltException e) {
                session.err("gestalt: " + e.getMessage() + "\n");
                code = e.exitCode();
            } catch (io.grpc.StatusRuntimeException e) {
                // a call to another node failed where the handler did not say which: still Gestalt's words
                GestaltException g = GestaltException.fromStatus(e, null);
                session.err("gestalt: " + g.getMessage() + "\n");
                code = g.exitCode();
            } catch (UncheckedIOException e) {
                return; // the client went away
            } catch (Exception | Error e) {
                LOG.log(Level.WARNING, "command " + request.command() + " failed", e);
                session.err("gestalt: internal error: " + e + "\n");
                code = request.command().equals("run") ? 255 : 1;
            }
            if (!session.clientGone()) {
                session.exit(code);
            }
        } catch (IOException e) {
            // client gone
        }
    }

    private static void fail(FrameChannel frames, String message, int code) throws IOException {
        byte[] b = message.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        frames.write(Frame.STDERR, b, 0, b.length);
        frames.write(Frame.ofInt(Frame.EXIT, code));
    }

    @Override
    public void close() throws IOException {
        closed = true;
        if (server != null) {
            server.close();
        }
        Files.deleteIfExists(socket);
    }
}

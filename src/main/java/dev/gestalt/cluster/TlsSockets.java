package dev.gestalt.cluster;

import java.io.UncheckedIOException;
import java.net.SocketException;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.jgroups.util.DefaultSocketFactory;
import org.jgroups.util.SocketFactory;

/**
 * The sockets of the JGroups transport: TLS 1.3 with the node's credentials, client certificates
 * required, and a bounded handshake.
 *
 * <p>Why not {@code TCP.tls(...)}: JGroups' own TLS sockets do the client side of the handshake
 * with no timeout. A frozen peer (SIGSTOP) still completes TCP connects, in its kernel, and then
 * never answers the handshake, so the thread that opened the connection waited until the peer was
 * resumed. That thread was the transport's sender: every node that tried to reach the frozen one
 * (discovery and merge pings do, every few seconds) stopped sending to everybody, and the healthy
 * nodes suspected each other (issue 8 item 1). Here the client handshake is bounded by
 * {@link #HANDSHAKE_MILLIS}; the server side is bounded by the transport's peer-address read
 * timeout, which covers the handshake (it happens on the first read).
 */
final class TlsSockets {

    /** Longest TLS handshake; the peer counts as unreachable after it. Generous for a loaded machine. */
    static final int HANDSHAKE_MILLIS = 4_000;

    private TlsSockets() {}

    static SocketFactory factory(SSLContext context) {
        var f = new DefaultSocketFactory(context);
        SSLParameters server = new SSLParameters();
        server.setProtocols(new String[] {"TLSv1.3"});
        server.setNeedClientAuth(true);
        f.setServerSocketConfigurator(s -> ((SSLServerSocket) s).setSSLParameters(server));
        f.setSocketConfigurator(s -> {
            SSLSocket ssl = (SSLSocket) s;
            ssl.setEnabledProtocols(new String[] {"TLSv1.3"});
            try {
                ssl.setSoTimeout(HANDSHAKE_MILLIS);
            } catch (SocketException e) {
                throw new UncheckedIOException(e);
            }
            // after the handshake the connection's reader blocks for as long as the peer is quiet, as JGroups expects
            ssl.addHandshakeCompletedListener(done -> {
                try {
                    done.getSocket().setSoTimeout(0);
                } catch (SocketException e) {
                    // closed meanwhile
                }
            });
        });
        return f;
    }
}

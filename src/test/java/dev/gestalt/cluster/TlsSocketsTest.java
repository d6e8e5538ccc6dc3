package dev.gestalt.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.gestalt.security.ClusterCa;
import dev.gestalt.security.NodeCredentials;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SSLSocket;
import org.jgroups.util.SocketFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The transport's TLS sockets: a peer that accepts but never answers cannot hold a sender. */
class TlsSocketsTest {

    @TempDir static Path tmp;
    static SocketFactory factory;

    @BeforeAll
    static void credentials() throws Exception {
        ClusterCa ca = ClusterCa.create(tmp.resolve("ca"));
        NodeCredentials a = ca.issueNode("a", 1, List.of(), tmp.resolve("a"));
        factory = TlsSockets.factory(a.sslContext());
    }

    /** A frozen process: its kernel completes the TCP connect (listen backlog), nobody ever reads. */
    @Test
    void handshakeWithAPeerThatNeverAnswersEnds() throws Exception {
        try (var frozen = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
                try (Socket s = factory.createSocket("test")) {
                    s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), frozen.getLocalPort()), 2000);
                    assertThrows(SocketTimeoutException.class, ((SSLSocket) s)::startHandshake);
                }
            });
        }
    }

    /** After the handshake the connection's reader may wait for as long as the peer is quiet. */
    @Test
    void afterTheHandshakeReadsDoNotTimeOut() throws Exception {
        try (ServerSocket server = factory.createServerSocket("test", 0, 5, InetAddress.getLoopbackAddress())) {
            Thread accept = Thread.ofVirtual().start(() -> {
                try (Socket in = server.accept()) {
                    in.getInputStream().read(); // handshake, then wait for the client to close
                } catch (IOException e) {
                    // client gone
                }
            });
            try (Socket s = factory.createSocket("test")) {
                s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getLocalPort()), 2000);
                ((SSLSocket) s).startHandshake();
                long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
                while (s.getSoTimeout() != 0 && System.nanoTime() < deadline) {
                    Thread.sleep(10);
                }
                assertEquals(0, s.getSoTimeout(), "no read timeout once the handshake is done");
            }
            accept.join(10_000);
        }
    }
}

package dev.gestalt.security;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gestalt.testkit.BytesMarshaller;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslProvider;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NegotiationType;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Mutual TLS between nodes: members of one cluster talk, anyone else fails at the handshake. */
class GrpcTlsTest {

    /** A unary echo method that answers with the caller's identity: "node@cluster:payload". */
    private static final MethodDescriptor<byte[], byte[]> WHO = MethodDescriptor.<byte[], byte[]>newBuilder()
            .setType(MethodDescriptor.MethodType.UNARY)
            .setFullMethodName("test.Echo/Who")
            .setRequestMarshaller(new BytesMarshaller())
            .setResponseMarshaller(new BytesMarshaller())
            .build();

    @TempDir static Path tmp;
    static NodeCredentials a1;
    static NodeCredentials a2;
    static NodeCredentials b1;

    private final List<Server> servers = new ArrayList<>();
    private final List<ManagedChannel> channels = new ArrayList<>();

    @BeforeAll
    static void credentials() throws Exception {
        ClusterCa a = ClusterCa.create(tmp.resolve("ca-a"));
        ClusterCa b = ClusterCa.create(tmp.resolve("ca-b"));
        a1 = a.issueNode("a1", 1, List.of(), tmp.resolve("a1"));
        a2 = a.issueNode("a2", 2, List.of(), tmp.resolve("a2"));
        b1 = b.issueNode("b1", 1, List.of(), tmp.resolve("b1"));
    }

    @AfterEach
    void stop() throws InterruptedException {
        channels.forEach(ManagedChannel::shutdownNow);
        servers.forEach(Server::shutdownNow);
        for (Server s : servers) {
            s.awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void memberOfTheSameClusterIsAcceptedAndIdentified() throws Exception {
        int port = start(a1, "127.0.0.1");
        byte[] reply = call(GrpcTls.channelBuilder("127.0.0.1:" + port, a2).build());
        assertEquals("a2@" + a2.identity().clusterId() + ":hi", new String(reply, StandardCharsets.UTF_8));
    }

    @Test
    void peersAreVerifiedByChainNotByAddress() throws Exception {
        // 127.0.0.2 is not among the certificate's SANs: the chain to the cluster CA is what counts.
        int port = start(a1, "127.0.0.2");
        byte[] reply = call(GrpcTls.channelBuilder("127.0.0.2:" + port, a2).build());
        assertArrayEquals(("a2@" + a2.identity().clusterId() + ":hi").getBytes(StandardCharsets.UTF_8), reply);
    }

    @Test
    void clientOfAnotherClusterIsRejected() throws Exception {
        int port = start(a1, "127.0.0.1");
        assertUnavailable(GrpcTls.channelBuilder("127.0.0.1:" + port, b1).build());
    }

    @Test
    void clientWithoutCertificateIsRejected() throws Exception {
        int port = start(a1, "127.0.0.1");
        // Trusts the cluster CA (so the server is accepted) but presents no certificate.
        var ctx = GrpcSslContexts.configure(SslContextBuilder.forClient().trustManager(ClusterTrustManager.of(a2))
                .protocols("TLSv1.3"), SslProvider.JDK).build();
        assertUnavailable(NettyChannelBuilder.forTarget("127.0.0.1:" + port)
                .negotiationType(NegotiationType.TLS).sslContext(ctx).build());
    }

    @Test
    void plaintextClientIsRejected() throws Exception {
        int port = start(a1, "127.0.0.1");
        assertUnavailable(NettyChannelBuilder.forTarget("127.0.0.1:" + port).usePlaintext().build());
    }

    @Test
    void serverOfAnotherClusterIsRejectedByTheClient() throws Exception {
        int port = start(b1, "127.0.0.1");
        assertUnavailable(GrpcTls.channelBuilder("127.0.0.1:" + port, a1).build());
    }

    /** A revoked node is refused at the handshake; one that connected before the revocation can call nothing more. */
    @Test
    void aRevokedClientIsRefusedOnNewAndOpenConnections() throws Exception {
        ClusterCa ca = ClusterCa.create(tmp.resolve("ca-r"));
        NodeCredentials server = ca.issueNode("s", 1, List.of(), tmp.resolve("r-s"));
        NodeCredentials client = ca.issueNode("c", 2, List.of(), tmp.resolve("r-c"));
        int port = start(server, "127.0.0.1");
        ManagedChannel open = GrpcTls.channelBuilder("127.0.0.1:" + port, client).build();
        assertEquals("c@" + ca.clusterId() + ":hi", new String(call(open), StandardCharsets.UTF_8));

        ca.revoke("c");
        java.nio.file.Files.copy(ca.crlFile(), server.crl(), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Thread.sleep(Revocations.CHECK_MILLIS + 100); // the server looks at the file at most once a second
        var e = assertThrows(StatusRuntimeException.class, () -> call(open));
        assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode(), e.toString());
        assertTrue(e.getStatus().getDescription().contains("revoked"), e.toString());
        assertUnavailable(GrpcTls.channelBuilder("127.0.0.1:" + port, client).build());
    }

    @Test
    void jdkContextOfTheCredentialsSpeaksTls13() throws Exception {
        SSLContext ctx = a1.sslContext();
        assertEquals("TLSv1.3", ctx.getProtocol());
    }

    private int start(NodeCredentials creds, String host) throws Exception {
        ServerCallHandler<byte[], byte[]> handler = ServerCalls.asyncUnaryCall((req, obs) -> {
            PeerIdentity peer = GrpcTls.PEER.get();
            String who = peer == null ? "?" : peer.toString();
            obs.onNext((who + ":" + new String(req, StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8));
            obs.onCompleted();
        });
        var service = ServerServiceDefinition.builder("test.Echo").addMethod(WHO, handler).build();
        Server s = GrpcTls.serverBuilder(new InetSocketAddress(host, 0), creds)
                .addService(ServerInterceptors.intercept(service, GrpcTls.peerInterceptor(creds.revocations())))
                .directExecutor()
                .build().start();
        servers.add(s);
        return s.getPort();
    }

    private byte[] call(ManagedChannel ch) {
        channels.add(ch);
        return ClientCalls.blockingUnaryCall(ch, WHO, CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS),
                "hi".getBytes(StandardCharsets.UTF_8));
    }

    private void assertUnavailable(ManagedChannel ch) {
        var e = assertThrows(StatusRuntimeException.class, () -> call(ch));
        assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.toString());
    }
}

package dev.gestalt.rpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.gestalt.security.ClusterCa;
import dev.gestalt.security.GrpcTls;
import dev.gestalt.security.NodeCredentials;
import dev.gestalt.testkit.BytesMarshaller;
import io.grpc.CallOptions;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Channels to other nodes: a node that left the view fails every call to it at once, long streams included. */
class PeersTest {

    /** A server stream that never ends, like {@code logs -f} or {@code wait} on a long job. */
    private static final MethodDescriptor<byte[], byte[]> FOLLOW = MethodDescriptor.<byte[], byte[]>newBuilder()
        .setType(MethodDescriptor.MethodType.SERVER_STREAMING).setFullMethodName("test.Logs/Follow")
        .setRequestMarshaller(new BytesMarshaller()).setResponseMarshaller(new BytesMarshaller()).build();

    @TempDir Path tmp;

    @Test
    void forgettingANodeEndsItsStreamsAtOnceAsNodeLost() throws Exception {
        ClusterCa ca = ClusterCa.create(tmp.resolve("ca"));
        NodeCredentials a = ca.issueNode("a", 1, List.of(), tmp.resolve("a"));
        NodeCredentials b = ca.issueNode("b", 2, List.of(), tmp.resolve("b"));
        var service = ServerServiceDefinition.builder("test.Logs")
            .addMethod(FOLLOW, ServerCalls.asyncServerStreamingCall((req, obs) -> obs.onNext(req))).build();
        Server server = Peers.liveness(GrpcTls.serverBuilder(new InetSocketAddress("127.0.0.1", 0), b))
            .addService(service).build().start();
        try (Peers peers = new Peers("a", "peers-test", a, Map.of("b", "127.0.0.1:" + server.getPort())::get)) {
            var ch = peers.channel("b");
            assertSame(ch, peers.channel("b"), "one channel per node, reused");
            var call = ch.newCall(FOLLOW, CallOptions.DEFAULT);
            var first = new CompletableFuture<Void>();
            var end = new CompletableFuture<Status>();
            ClientCalls.asyncServerStreamingCall(call, "x".getBytes(), new io.grpc.stub.StreamObserver<byte[]>() {
                @Override
                public void onNext(byte[] v) {
                    first.complete(null);
                }

                @Override
                public void onError(Throwable t) {
                    end.complete(Status.fromThrowable(t));
                }

                @Override
                public void onCompleted() {
                    end.complete(Status.OK);
                }
            });
            first.get(20, TimeUnit.SECONDS);
            peers.forget("b");
            Status s = end.get(5, TimeUnit.SECONDS);
            assertEquals(Status.Code.UNAVAILABLE, s.getCode(), s.toString());
            assertEquals("node b lost", GestaltException.fromStatus(s.asRuntimeException(), "b").getMessage());
            assertNotSame(ch, peers.channel("b"), "a node that comes back gets a new channel");
            var e = assertThrows(GestaltException.NodeLost.class, () -> peers.channel("z"));
            assertEquals("node z is not reachable (no address known)", e.getMessage());
        } finally {
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }
}

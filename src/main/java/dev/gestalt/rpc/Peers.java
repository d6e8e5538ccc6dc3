package dev.gestalt.rpc;

import dev.gestalt.security.GrpcTls;
import dev.gestalt.security.NodeCredentials;
import io.grpc.ManagedChannel;
import io.grpc.inprocess.InProcessChannelBuilder;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * gRPC channels from this node to every other node (mutual TLS, one channel
 * per address, reused), and an in-process channel to itself so that the home
 * node and the execution node run the same code when they are the same node.
 */
public final class Peers implements AutoCloseable {

    private final String self;
    private final String inProcessName;
    private final NodeCredentials credentials;
    private final Function<String, String> addressOf;
    private final Map<String, ManagedChannel> byAddress = new ConcurrentHashMap<>();
    private final Executor executor = Executors.newVirtualThreadPerTaskExecutor();
    private final ManagedChannel selfChannel;

    /**
     * @param addressOf node name -> "host:port" of its gRPC server, or null when unknown
     */
    public Peers(String self, String inProcessName, NodeCredentials credentials, Function<String, String> addressOf) {
        this.self = self;
        this.inProcessName = inProcessName;
        this.credentials = credentials;
        this.addressOf = addressOf;
        this.selfChannel = InProcessChannelBuilder.forName(inProcessName).executor(executor).build();
    }

    public String self() {
        return self;
    }

    /** The channel to {@code node}; throws NodeLost when its address is unknown. */
    public ManagedChannel channel(String node) throws GestaltException.NodeLost {
        if (node.equals(self)) {
            return selfChannel;
        }
        String address = addressOf.apply(node);
        if (address == null || address.isEmpty()) {
            throw new GestaltException.NodeLost("node " + node + " is not reachable (no address known)");
        }
        return byAddress.computeIfAbsent(address, a -> {
            try {
                return GrpcTls.channelBuilder(a, credentials).executor(executor).build();
            } catch (Exception e) {
                throw new IllegalStateException("cannot build a TLS channel to " + a + ": " + e.getMessage(), e);
            }
        });
    }

    @Override
    public void close() {
        selfChannel.shutdownNow();
        for (ManagedChannel c : byAddress.values()) {
            c.shutdownNow();
        }
        for (ManagedChannel c : byAddress.values()) {
            try {
                c.awaitTermination(2, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}

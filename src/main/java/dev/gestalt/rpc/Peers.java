package dev.gestalt.rpc;

import dev.gestalt.security.GrpcTls;
import dev.gestalt.security.NodeCredentials;
import io.grpc.ManagedChannel;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.logging.Logger;

/**
 * gRPC channels from this node to every other node (mutual TLS, one channel
 * per address, reused), and an in-process channel to itself so that the home
 * node and the execution node run the same code when they are the same node.
 *
 * <p>A node that is gone must fail every call to it fast, long streams included (a {@code run}
 * attached to it, a {@code wait}, a {@code logs -f}), never leave them hanging:
 * <ul>
 *   <li>when membership says a node left the view (crashed, frozen or cut off: within 10 s), its
 *       channel is shut down ({@link #forget}): every call on it ends at once with UNAVAILABLE,
 *       which {@link GestaltException#fromStatus} words as "node NAME lost";</li>
 *   <li>below that, HTTP/2 keepalive: a connection that has read nothing for {@link #KEEPALIVE_MILLIS}
 *       is pinged and closed if no answer comes within {@link #KEEPALIVE_TIMEOUT_MILLIS} (10 s is
 *       gRPC's floor), on both sides, so a peer that stops answering on its RPC port alone is
 *       noticed too; connects give up after {@link #CONNECT_TIMEOUT_MILLIS}.</li>
 * </ul>
 * Unary queries carry their own deadlines (a few seconds); streams cannot, they last as long as
 * their process.
 */
public final class Peers implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(Peers.class.getName());

    /** Silence on a connection after which it is pinged. gRPC does not allow less than 10 s. */
    public static final long KEEPALIVE_MILLIS = 10_000;
    /** How long a ping may go unanswered before the connection counts as dead. */
    public static final long KEEPALIVE_TIMEOUT_MILLIS = 3_000;
    /** More than gRPC's 30-day ceiling: idle mode off (a connection to each peer is cheap; keepalive watches it). */
    static final long NEVER_IDLE_DAYS = 31;
    /** How long a TCP connect to a peer may take (a cut-off peer drops the SYN). */
    public static final int CONNECT_TIMEOUT_MILLIS = 5_000;

    private final String self;
    private final NodeCredentials credentials;
    private final Function<String, String> addressOf;
    private final Map<String, ManagedChannel> byAddress = new ConcurrentHashMap<>();
    private final Map<String, String> addressByNode = new ConcurrentHashMap<>();
    private final Executor executor = Executors.newVirtualThreadPerTaskExecutor();
    private final ManagedChannel selfChannel;

    /**
     * @param addressOf node name -> "host:port" of its gRPC server, or null when unknown
     */
    public Peers(String self, String inProcessName, NodeCredentials credentials, Function<String, String> addressOf) {
        this.self = self;
        this.credentials = credentials;
        this.addressOf = addressOf;
        this.selfChannel = InProcessChannelBuilder.forName(inProcessName).executor(executor).build();
    }

    /** The server side of the same liveness rules: pings peers that go quiet, and allows theirs. */
    public static NettyServerBuilder liveness(NettyServerBuilder b) {
        return b.keepAliveTime(KEEPALIVE_MILLIS, TimeUnit.MILLISECONDS)
            .keepAliveTimeout(KEEPALIVE_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS)
            .permitKeepAliveTime(KEEPALIVE_MILLIS / 2, TimeUnit.MILLISECONDS)
            .permitKeepAliveWithoutCalls(true);
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
        addressByNode.put(node, address);
        return byAddress.computeIfAbsent(address, a -> {
            try {
                return GrpcTls.channelBuilder(a, credentials).executor(executor)
                    .keepAliveTime(KEEPALIVE_MILLIS, TimeUnit.MILLISECONDS)
                    .keepAliveTimeout(KEEPALIVE_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS)
                    .keepAliveWithoutCalls(true)
                    .withOption(ChannelOption.CONNECT_TIMEOUT_MILLIS, CONNECT_TIMEOUT_MILLIS)
                    // never idle: a channel that went idle reconnects (TLS handshake) inside a query's 3 s deadline
                    .idleTimeout(NEVER_IDLE_DAYS, TimeUnit.DAYS)
                    .build();
            } catch (Exception e) {
                throw new IllegalStateException("cannot build a TLS channel to " + a + ": " + e.getMessage(), e);
            }
        });
    }

    /**
     * {@code node} left the view: ends every call to it now (they fail as "node NAME lost") and drops
     * its channel; a node that comes back gets a new one.
     */
    public void forget(String node) {
        String address = addressByNode.remove(node);
        ManagedChannel ch = address == null ? null : byAddress.remove(address);
        if (ch != null) {
            LOG.fine("node " + node + " left: closing its channel to " + address);
            ch.shutdownNow();
        }
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

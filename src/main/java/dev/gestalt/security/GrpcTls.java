package dev.gestalt.security;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerCall;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NegotiationType;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.ClientAuth;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.net.SocketAddress;
import java.security.GeneralSecurityException;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Optional;
import java.util.logging.Logger;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Mutual TLS for node-to-node gRPC, from a node's {@link NodeCredentials}.
 *
 * <p>Both sides present their node certificate and trust only the cluster CA; the server
 * requires a client certificate. Peers are verified by their chain to the cluster CA, not by
 * host name (see {@link ClusterTrustManager} for why), so a node may be dialled by any of its
 * addresses. TLS 1.3 only. The JDK TLS provider is used on purpose: its trust-manager hooks are
 * the ones {@link ClusterTrustManager} relies on, whatever native library is on the class path.
 */
public final class GrpcTls {

    private static final Logger LOG = Logger.getLogger(GrpcTls.class.getName());
    private static final String[] PROTOCOLS = {"TLSv1.3"};

    /** The calling node's identity, in the gRPC {@link Context} of calls served with {@link #peerInterceptor}. */
    public static final Context.Key<PeerIdentity> PEER = Context.key("gestalt-peer");

    private GrpcTls() {}

    /**
     * Set in the context of calls served by the node's in-process server: the caller is this node
     * itself (its CLI's request, with the caller's uid from the kernel), not another node.
     */
    public static final Context.Key<Boolean> SAME_NODE = Context.key("gestalt-same-node");

    /** A server context: presents the node certificate, requires a client certificate of the cluster. */
    public static SslContext serverContext(NodeCredentials creds) throws IOException, GeneralSecurityException {
        SslContextBuilder b = SslContextBuilder.forServer(creds.keyManager())
                .trustManager(ClusterTrustManager.of(creds))
                .clientAuth(ClientAuth.REQUIRE)
                .protocols(PROTOCOLS);
        return GrpcSslContexts.configure(b, provider()).build();
    }

    /** A client context: presents the node certificate, accepts only servers of the cluster. */
    public static SslContext clientContext(NodeCredentials creds) throws IOException, GeneralSecurityException {
        SslContextBuilder b = SslContextBuilder.forClient()
                .keyManager(creds.keyManager())
                .trustManager(ClusterTrustManager.of(creds))
                .protocols(PROTOCOLS);
        return GrpcSslContexts.configure(b, provider()).build();
    }

    /** HTTP/2 window per stream: enough for a full pipe on a LAN, small enough to bound memory per process. */
    static final int FLOW_WINDOW = 4 << 20;

    /**
     * BoringSSL (bundled in grpc-netty-shaded) where it loads: its AES-GCM is several times faster
     * than the JDK's SSLEngine through Netty, which bounded stream throughput. The JDK otherwise.
     * Both run the same trust manager (chain to the cluster CA), so both refuse foreign nodes.
     */
    static SslProvider provider() {
        return io.grpc.netty.shaded.io.netty.handler.ssl.OpenSsl.isAvailable() && !Boolean.getBoolean("gestalt.tls.jdk")
            ? SslProvider.OPENSSL : SslProvider.JDK;
    }

    /** A server builder listening on {@code address} with mutual TLS. */
    public static NettyServerBuilder serverBuilder(SocketAddress address, NodeCredentials creds)
            throws IOException, GeneralSecurityException {
        return NettyServerBuilder.forAddress(address).sslContext(serverContext(creds)).flowControlWindow(FLOW_WINDOW);
    }

    /** A channel builder for {@code target} (e.g. {@code "127.0.0.1:7100"}) with mutual TLS. */
    public static NettyChannelBuilder channelBuilder(String target, NodeCredentials creds)
            throws IOException, GeneralSecurityException {
        // No retries, transparent ones included: a replayed exec stream would start its process twice.
        return NettyChannelBuilder.forTarget(target).negotiationType(NegotiationType.TLS).sslContext(clientContext(creds))
            .flowControlWindow(FLOW_WINDOW).disableRetry();
    }

    /**
     * A server interceptor that puts the caller's {@link PeerIdentity} into {@link #PEER} for the call,
     * and refuses the call (UNAUTHENTICATED) when the caller's certificate is revoked: a revoked node
     * that still holds a connection from before the revocation can call nothing.
     */
    public static ServerInterceptor peerInterceptor(Revocations revocations) {
        return new ServerInterceptor() {
            @Override
            public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                    ServerCallHandler<Q, R> next) {
                Optional<PeerIdentity> peer = peer(call);
                if (peer.isEmpty()) {
                    call.close(Status.UNAUTHENTICATED.withDescription("no client certificate"), new Metadata());
                    return new ServerCall.Listener<>() {};
                }
                if (revocations.isRevoked(peer.get())) {
                    LOG.warning("refused a call from " + peer.get().describe() + ": its certificate is revoked");
                    call.close(Status.UNAUTHENTICATED.withDescription("the certificate of " + peer.get().nodeName()
                        + " is revoked"), new Metadata());
                    return new ServerCall.Listener<>() {};
                }
                return Contexts.interceptCall(Context.current().withValue(PEER, peer.get()), call, headers, next);
            }
        };
    }

    /** A server interceptor for the in-process server: marks every call {@link #SAME_NODE}. */
    public static ServerInterceptor sameNodeInterceptor() {
        return new ServerInterceptor() {
            @Override
            public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                    ServerCallHandler<Q, R> next) {
                return Contexts.interceptCall(Context.current().withValue(SAME_NODE, Boolean.TRUE), call, headers, next);
            }
        };
    }

    /** On the server: the calling node's identity, from the client certificate of the call's TLS session. */
    public static Optional<PeerIdentity> peer(ServerCall<?, ?> call) {
        SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
        if (session == null) {
            return Optional.empty();
        }
        try {
            Certificate[] chain = session.getPeerCertificates();
            return chain.length > 0 && chain[0] instanceof X509Certificate x
                    ? Optional.of(PeerIdentity.of(x)) : Optional.empty();
        } catch (SSLPeerUnverifiedException e) {
            return Optional.empty();
        }
    }
}

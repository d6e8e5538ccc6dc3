package dev.gestalt.cluster;

import dev.gestalt.security.NodeCredentials;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * How one node takes part in the cluster's membership.
 *
 * @param clusterName the JGroups cluster name; nodes with different names never form one view
 * @param nodeName this node's name, also its JGroups logical name and the CN of its certificate
 * @param nodeId this node's numeric id, gossiped with its load
 * @param bindAddress the address the group transport (and its failure detector) binds to
 * @param bindPort the TCP port of the group transport; no other port is tried if it is taken
 * @param seeds group transport addresses of nodes to contact at start (may include this node)
 * @param credentials this node's TLS credentials; {@code null} only for in-JVM tests, which then run
 *                    on JGroups' {@code SHARED_LOOPBACK} transport and ignore address, port and seeds
 * @param rpcAddress {@code host:port} of this node's gRPC server, gossiped so others can call it
 * @param gossipInterval how often the load report is gossiped; {@code null} means {@link #DEFAULT_GOSSIP}
 */
public record MembershipConfig(String clusterName, String nodeName, int nodeId, String bindAddress, int bindPort,
        List<InetSocketAddress> seeds, NodeCredentials credentials, String rpcAddress, Duration gossipInterval) {

    /** The default gossip interval: one second, as MOSIX. */
    public static final Duration DEFAULT_GOSSIP = Duration.ofSeconds(1);

    public MembershipConfig {
        Objects.requireNonNull(clusterName, "clusterName");
        Objects.requireNonNull(nodeName, "nodeName");
        bindAddress = bindAddress == null ? "127.0.0.1" : bindAddress;
        seeds = seeds == null ? List.of() : List.copyOf(seeds);
        rpcAddress = rpcAddress == null ? "" : rpcAddress;
        gossipInterval = gossipInterval == null ? DEFAULT_GOSSIP : gossipInterval;
        if (gossipInterval.isNegative() || gossipInterval.isZero()) {
            throw new IllegalArgumentException("gossipInterval must be positive: " + gossipInterval);
        }
        if (bindPort < 0 || bindPort > 65535) {
            throw new IllegalArgumentException("bad bindPort: " + bindPort);
        }
    }

    /** True when the node runs the in-JVM test transport rather than TLS over TCP. */
    public boolean inJvm() {
        return credentials == null;
    }
}

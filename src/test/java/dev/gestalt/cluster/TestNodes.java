package dev.gestalt.cluster;

import dev.gestalt.security.ClusterCa;
import dev.gestalt.security.NodeCredentials;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;
import org.jgroups.protocols.DISCARD;
import org.jgroups.protocols.TP;
import org.jgroups.stack.ProtocolStack;

/** Starts members over loopback TCP with real TLS credentials, records every view they saw, and stops them. */
final class TestNodes implements AutoCloseable {

    static final String LOOPBACK = "127.0.0.1";

    private final List<Membership> started = new ArrayList<>();
    /** By node: every member name that appeared in any view that node installed. */
    final Map<String, Set<String>> everSeen = new ConcurrentHashMap<>();

    static int freePort() throws IOException {
        try (var s = new ServerSocket(0, 1, InetAddress.getByName(LOOPBACK))) {
            return s.getLocalPort();
        }
    }

    static List<InetSocketAddress> seeds(int... ports) {
        var out = new ArrayList<InetSocketAddress>();
        for (int p : ports) {
            out.add(new InetSocketAddress(LOOPBACK, p));
        }
        return out;
    }

    static NodeCredentials issue(ClusterCa ca, String name, int id, Path dir) throws Exception {
        return ca.issueNode(name, id, List.of(), dir.resolve(name));
    }

    Membership start(String cluster, String name, int id, int port, List<InetSocketAddress> seeds,
            NodeCredentials creds) throws Exception {
        var cfg = new MembershipConfig(cluster, name, id, LOOPBACK, port, seeds, creds,
                LOOPBACK + ":" + (port + 1), Duration.ofMillis(500));
        Set<String> seen = everSeen.computeIfAbsent(name, n -> ConcurrentHashMap.newKeySet());
        Membership m = Membership.start(cfg, () -> report(name, id), (members, joined, left) -> seen.addAll(members));
        seen.addAll(m.view());
        synchronized (started) {
            started.add(m);
        }
        return m;
    }

    static LoadReport report(String name, int id) {
        return new LoadReport(name, id, "", "test", 2, 0.25 * id, 1L << 30, 2L << 30, id, System.currentTimeMillis(), false);
    }

    /** Drops all traffic of {@code m} in both directions below all protocols but the transport. */
    static DISCARD isolate(Membership m) throws Exception {
        var discard = new DISCARD();
        discard.setAddress(m.channel().getAddress());
        m.channel().getProtocolStack().insertProtocol(discard, ProtocolStack.Position.ABOVE, TP.class);
        discard.discardAll(true);
        return discard;
    }

    /** Waits until {@code condition} holds; returns the time it took, or throws after {@code limit}. */
    static Duration await(Duration limit, String what, BooleanSupplier condition) throws InterruptedException {
        long t0 = System.nanoTime();
        long deadline = t0 + limit.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + limit + ": " + what);
            }
            Thread.sleep(20);
        }
        return Duration.ofNanos(System.nanoTime() - t0);
    }

    static Set<String> viewOf(Membership m) {
        return Set.copyOf(m.view());
    }

    @Override
    public void close() {
        List<Membership> all;
        synchronized (started) {
            all = new ArrayList<>(started);
        }
        Collections.reverse(all);
        all.forEach(Membership::close);
    }
}

package dev.gestalt.cluster;

import java.io.IOException;
import java.net.InetAddress;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.List;
import org.jgroups.protocols.FD_ALL3;
import org.jgroups.protocols.FD_SOCK2;
import org.jgroups.protocols.FRAG4;
import org.jgroups.protocols.MERGE3;
import org.jgroups.protocols.MFC;
import org.jgroups.protocols.PerDestinationBundler;
import org.jgroups.protocols.SHARED_LOOPBACK;
import org.jgroups.protocols.SHARED_LOOPBACK_PING;
import org.jgroups.protocols.TCP;
import org.jgroups.protocols.TCPPING;
import org.jgroups.protocols.UFC;
import org.jgroups.protocols.UNICAST3;
import org.jgroups.protocols.VERIFY_SUSPECT2;
import org.jgroups.protocols.pbcast.GMS;
import org.jgroups.protocols.pbcast.NAKACK2;
import org.jgroups.protocols.pbcast.STABLE;
import org.jgroups.stack.Protocol;

/**
 * The JGroups protocol stack of a node, built in code, bottom first.
 *
 * <p>Transport: TCP bound to the configured address and port (no port range: seeds name exact
 * ports), every connection TLS 1.3 with the node's certificate, client certificates required,
 * the cluster CA the only trust root ({@link TlsSockets}). A process without a certificate of
 * this cluster's CA cannot open a connection, so it can neither join nor read or inject group traffic.
 *
 * <p>Identity: every message must come from the node its TLS certificate names ({@link CertifiedTcp});
 * a join by a name or id already in the view is refused ({@link UniqueMembers}).
 *
 * <p>No peer may hold up the traffic to the others, or a frozen member splits the healthy ones
 * (issue 8 item 1: a sender blocked on a frozen peer starved every destination, and the healthy
 * members suspected each other). Hence: TLS handshakes are bounded ({@link TlsSockets}); the
 * bundler has one sender thread per destination, not one for all; and sends are non-blocking
 * (each connection has a bounded queue and a writer of its own: a peer whose socket buffer is
 * full loses messages, which the reliable protocols resend, instead of blocking the sender).
 *
 * <p>Failure detection, chosen so that a crashed <em>or frozen</em> member leaves the view
 * within 10 s: FD_SOCK2 notices a closed socket (crash, kill -9) at once; FD_ALL3 suspects a
 * member from which no heartbeat came for {@link #FD_TIMEOUT_MS} (frozen process, partition);
 * VERIFY_SUSPECT2 double-checks for {@link #VERIFY_TIMEOUT_MS}. Worst case about 5 + 1 s plus
 * the view installation. FD_SOCK2's own server socket is not TLS: it carries only liveness
 * pings, and is bound to the same address as the transport (it binds to all interfaces otherwise).
 *
 * <p>MERGE3 runs every 1–3 s so that healed partitions merge within seconds; GMS waits
 * {@link #JOIN_TIMEOUT_MS} for a coordinator, so a lone first node starts fast.
 */
final class ChannelStack {

    static final long FD_TIMEOUT_MS = 5_000;
    static final long FD_INTERVAL_MS = 1_000;
    static final long VERIFY_TIMEOUT_MS = 1_000;
    static final long JOIN_TIMEOUT_MS = 1_000;
    static final long MERGE_MIN_MS = 1_000;
    static final long MERGE_MAX_MS = 3_000;

    private ChannelStack() {}

    static List<Protocol> protocols(MembershipConfig cfg) throws IOException, GeneralSecurityException {
        var stack = new ArrayList<Protocol>();
        if (cfg.inJvm()) {
            stack.add(new SHARED_LOOPBACK());
            stack.add(new SHARED_LOOPBACK_PING());
        } else {
            InetAddress bind = InetAddress.getByName(cfg.bindAddress());
            TCP tcp = new CertifiedTcp(cfg.credentials().revocations()).nonBlockingSends(true)
                .setBindAddress(bind).setBindPort(cfg.bindPort()).setPortRange(0);
            tcp.setSocketFactory(TlsSockets.factory(cfg.credentials().sslContext()));
            // refusals are logged, once, by the trust manager; JGroups would log every failed accept
            tcp.logAcceptError(false);
            tcp.setPeerAddrReadTimeout(TlsSockets.HANDSHAKE_MILLIS);
            var bundler = new PerDestinationBundler();
            bundler.useSingleSenderThread(false);
            bundler.suppressLogTimeout(30_000); // a peer being refused fails every send until it leaves the view
            stack.add(tcp.setBundler(bundler));
            stack.add(new TCPPING().setInitialHosts(cfg.seeds()).setPortRange(0));
        }
        stack.add(new MERGE3().setMinInterval(MERGE_MIN_MS).setMaxInterval(MERGE_MAX_MS));
        if (!cfg.inJvm()) {
            stack.add(new FD_SOCK2().setBindAddress(InetAddress.getByName(cfg.bindAddress())));
        }
        stack.add(new FD_ALL3().setTimeout(FD_TIMEOUT_MS).setInterval(FD_INTERVAL_MS));
        stack.add(new VERIFY_SUSPECT2().setTimeout(VERIFY_TIMEOUT_MS));
        stack.add(new NAKACK2().useMcastXmit(false));
        stack.add(new UNICAST3());
        stack.add(new STABLE());
        stack.add(new UniqueMembers());
        stack.add(new GMS().setJoinTimeout(JOIN_TIMEOUT_MS).printLocalAddress(false));
        stack.add(new UFC());
        stack.add(new MFC());
        stack.add(new FRAG4());
        return stack;
    }
}

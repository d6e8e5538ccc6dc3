package dev.gestalt.cluster;

import dev.gestalt.RateLimitedLog;
import dev.gestalt.security.PeerIdentity;
import dev.gestalt.security.Revocations;
import java.io.DataInput;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.net.Socket;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;
import javax.net.ssl.SSLSocket;
import org.jgroups.Address;
import org.jgroups.Message;
import org.jgroups.blocks.cs.Connection;
import org.jgroups.blocks.cs.TcpConnection;
import org.jgroups.protocols.TCP;
import org.jgroups.protocols.TP;
import org.jgroups.stack.MessageProcessingPolicy;
import org.jgroups.util.MessageBatch;

/**
 * JGroups' TCP transport, with every message checked against the certificate of the TLS
 * connection it arrived on: a message is passed up only if its sender's address names the node
 * and id of that certificate ({@link NodeAddresses}) and the certificate is not revoked. A node
 * can thus speak in the group only as itself: it cannot join, gossip or vote under another
 * node's name or id, and a revoked node's connections are closed at its next message, which
 * makes the others drop it from the view.
 *
 * <p>How the certificate of a message is known: each connection has a reader thread of its own,
 * which hands every message to {@link #receive} with the connection's peer address. The
 * certificate of each connection is read from its TLS session when the connection is
 * established, and kept per peer address; the reader thread holds it in {@link #FROM} while the
 * message is parsed and handed to the processing policy, where the check runs. JGroups does not
 * expose a connection's socket, hence one reflective read of {@code TcpConnection.sock}; if that
 * ever fails, every connection is refused (fail closed) with a log line saying why.
 */
final class CertifiedTcp extends TCP {

    private static final Logger LOG = Logger.getLogger(CertifiedTcp.class.getName());
    private static final VarHandle SOCK = sockHandle();
    /** The connection this reader thread serves: its peer address and certificate, or why there is none. */
    private static final ThreadLocal<From> FROM = new ThreadLocal<>();

    /** @param cert a {@link PeerIdentity}, or a string saying why the connection has none */
    private record From(Address physical, Object cert) {}

    private final Revocations revocations;
    private final Map<Address, Map<Connection, PeerIdentity>> byPeer = new ConcurrentHashMap<>();
    private final RateLimitedLog refusals = new RateLimitedLog(LOG, 30_000);

    CertifiedTcp(Revocations revocations) {
        this.revocations = revocations;
    }

    @Override
    public void init() throws Exception {
        super.init(); // creates the processing policy ("max", one thread per sender) and initialises it
        msgProcessingPolicy(new Checked(getMessageProcessingPolicy()));
    }

    private static VarHandle sockHandle() {
        try {
            return MethodHandles.privateLookupIn(TcpConnection.class, MethodHandles.lookup())
                .findVarHandle(TcpConnection.class, "sock", Socket.class);
        } catch (ReflectiveOperationException | RuntimeException e) {
            LOG.severe("cannot read the sockets of JGroups connections (" + e + "): every node will be refused");
            return null;
        }
    }

    @Override
    public void connectionEstablished(Connection conn) {
        super.connectionEstablished(conn);
        PeerIdentity id = certificateOf(conn);
        if (id != null) {
            byPeer.computeIfAbsent(conn.peerAddress(), a -> new ConcurrentHashMap<>()).put(conn, id);
        }
    }

    @Override
    public void connectionClosed(Connection conn) {
        super.connectionClosed(conn);
        Map<Connection, PeerIdentity> m = byPeer.get(conn.peerAddress());
        if (m != null) {
            m.remove(conn);
            if (m.isEmpty()) {
                byPeer.remove(conn.peerAddress(), m);
            }
        }
    }

    private static PeerIdentity certificateOf(Connection conn) {
        try {
            if (SOCK != null && conn instanceof TcpConnection && SOCK.get(conn) instanceof SSLSocket s) {
                Certificate[] chain = s.getSession().getPeerCertificates();
                if (chain.length > 0 && chain[0] instanceof X509Certificate x) {
                    return PeerIdentity.of(x);
                }
            }
        } catch (Exception e) {
            LOG.fine("no certificate for " + conn + ": " + e);
        }
        return null;
    }

    /** The certificate of the connections from {@code sender}, or why there is not exactly one. */
    private From from(Address sender) {
        Map<Connection, PeerIdentity> m = byPeer.get(sender);
        if (m == null || m.isEmpty()) {
            return new From(sender, "no TLS connection with a certificate from " + sender);
        }
        Set<PeerIdentity> ids = new HashSet<>(m.values());
        if (ids.size() > 1) {
            return new From(sender, "connections from " + sender + " carry different certificates: " + ids);
        }
        return new From(sender, ids.iterator().next());
    }

    @Override
    public void receive(Address sender, byte[] data, int offset, int length) {
        FROM.set(from(sender));
        try {
            super.receive(sender, data, offset, length);
        } finally {
            FROM.remove();
        }
    }

    @Override
    public void receive(Address sender, DataInput in, int length) throws Exception {
        FROM.set(from(sender));
        try {
            super.receive(sender, in, length);
        } finally {
            FROM.remove();
        }
    }

    /** Whether a message from {@code src}, read by this thread, may go up the stack. */
    private boolean admit(Address src) {
        From from = FROM.get();
        if (from == null || !(from.cert() instanceof PeerIdentity cert)) {
            String why = from == null ? "it came on no known connection" : String.valueOf(from.cert());
            refusals.log(why, "dropped a message from " + NodeAddresses.display(src) + ": " + why);
            return false;
        }
        String reason = null;
        if (revocations.isRevoked(cert)) {
            reason = "the certificate of " + cert.describe() + " is revoked";
        } else if (!cert.nodeName().equals(NodeAddresses.nameOf(src)) || cert.nodeId() != NodeAddresses.idOf(src)) {
            reason = "it says it is " + NodeAddresses.nameOf(src) + " (id " + NodeAddresses.idOf(src)
                + ") but its certificate is that of " + cert.describe();
        }
        if (reason == null) {
            return true;
        }
        refusals.log(cert + reason, "closed the connection of " + cert.describe() + " at " + from.physical() + ": "
            + reason);
        if (srv != null) {
            srv.closeConnection(from.physical()); // the connection this message came on, whoever it names
        }
        return false;
    }

    /** The transport's processing policy, behind the certificate check. */
    private final class Checked implements MessageProcessingPolicy {
        private final MessageProcessingPolicy delegate;

        Checked(MessageProcessingPolicy delegate) {
            this.delegate = delegate;
        }

        @Override
        public void init(TP tp) {
            // the delegate was initialised before it was wrapped
        }

        @Override
        public void reset() {
            delegate.reset();
        }

        @Override
        public void destroy() {
            delegate.destroy();
        }

        @Override
        public boolean loopback(Message msg, boolean oob) {
            return delegate.loopback(msg, oob); // this node's own messages
        }

        @Override
        public boolean loopback(MessageBatch batch, boolean oob) {
            return delegate.loopback(batch, oob);
        }

        @Override
        public boolean process(Message msg, boolean oob) {
            return admit(msg.getSrc()) && delegate.process(msg, oob);
        }

        @Override
        public boolean process(MessageBatch batch, boolean oob) {
            if (!admit(batch.sender())) {
                return false;
            }
            // a message of a batch may name its own sender: each must be the batch's
            for (Iterator<Message> it = batch.iterator(); it.hasNext(); ) {
                Message m = it.next();
                if (m.getSrc() != null && !m.getSrc().equals(batch.sender()) && !admit(m.getSrc())) {
                    it.remove();
                }
            }
            return batch.isEmpty() || delegate.process(batch, oob);
        }
    }
}

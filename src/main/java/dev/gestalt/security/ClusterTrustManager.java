package dev.gestalt.security;

import dev.gestalt.RateLimitedLog;
import java.io.IOException;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.logging.Logger;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Trusts a peer exactly when its certificate chains to the cluster CA (PKIX path validation
 * with the CA as the only anchor, validity dates and the serverAuth/clientAuth extended key
 * usage checked) and is not revoked ({@link Revocations}), and does <em>not</em> match the
 * peer's host name or address against the certificate.
 *
 * <p>Why no host name check: nodes are addressed by IP addresses that come from gossip, from
 * seeds typed by operators, or from DHCP, and they change; a certificate cannot list them all.
 * The question a connection must answer is "is the peer a member of this cluster?", which the
 * chain answers; who the peer is (its node name and id) is read from its certificate with
 * {@link PeerIdentity} by the layers that act on it. The JDK would add a host name check for a
 * plain {@code X509TrustManager} when the engine asks for one (gRPC clients do), hence this
 * {@code X509ExtendedTrustManager}.
 *
 * <p>Every refusal is logged once per peer and reason every {@link #LOG_EVERY_MILLIS}, on the side
 * that refuses, for JGroups and gRPC alike (they share this class).
 */
public final class ClusterTrustManager extends X509ExtendedTrustManager {

    private static final Logger LOG = Logger.getLogger(ClusterTrustManager.class.getName());
    static final long LOG_EVERY_MILLIS = 30_000;
    private static final RateLimitedLog REFUSALS = new RateLimitedLog(LOG, LOG_EVERY_MILLIS);

    private final X509ExtendedTrustManager pkix;
    private final Revocations revocations;

    private ClusterTrustManager(X509ExtendedTrustManager pkix, Revocations revocations) {
        this.pkix = pkix;
        this.revocations = revocations;
    }

    /** A trust manager whose only anchor is the CA in the node's trust store, with the node's revocation list. */
    public static ClusterTrustManager of(NodeCredentials creds) throws IOException, GeneralSecurityException {
        for (TrustManager tm : creds.trustManagers().getTrustManagers()) {
            if (tm instanceof X509ExtendedTrustManager x) {
                return new ClusterTrustManager(x, Revocations.of(creds));
            }
        }
        throw new GeneralSecurityException("no X.509 trust manager for " + creds.trustStorePath());
    }

    private void check(X509Certificate[] chain, String authType, boolean client, String peer) throws CertificateException {
        try {
            if (client) {
                pkix.checkClientTrusted(chain, authType);
            } else {
                pkix.checkServerTrusted(chain, authType);
            }
            PeerIdentity id = PeerIdentity.of(chain[0]);
            if (revocations.isRevoked(id)) {
                throw new CertificateException("the certificate of " + id.describe() + " (serial "
                    + id.serial().toString(16) + ") is revoked");
            }
        } catch (CertificateException e) {
            String who = chain == null || chain.length == 0 ? "?" : PeerIdentity.of(chain[0]).toString();
            refused(peer + " (" + who + ")", e.getMessage());
            throw e;
        }
    }

    private static void refused(String peer, String reason) {
        // one line per host and reason, not per source port
        REFUSALS.log(peer.replaceAll(":\\d+ ", " ") + reason, "refused a TLS connection with " + peer + ": " + reason);
    }

    private static String peer(Socket s) {
        return s == null || s.getRemoteSocketAddress() == null ? "?" : s.getRemoteSocketAddress().toString();
    }

    private static String peer(SSLEngine e) {
        return e == null || e.getPeerHost() == null ? "?" : e.getPeerHost() + ":" + e.getPeerPort();
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        check(chain, authType, true, "?");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        check(chain, authType, false, "?");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        check(chain, authType, true, peer(socket));
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        check(chain, authType, false, peer(socket));
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        check(chain, authType, true, peer(engine));
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        check(chain, authType, false, peer(engine));
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return pkix.getAcceptedIssuers();
    }
}

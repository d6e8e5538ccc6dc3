package dev.gestalt.security;

import java.io.IOException;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Trusts a peer exactly when its certificate chains to the cluster CA (PKIX path validation
 * with the CA as the only anchor, validity dates and the serverAuth/clientAuth extended key
 * usage checked), and does <em>not</em> match the peer's host name or address against the
 * certificate.
 *
 * <p>Why no host name check: nodes are addressed by IP addresses that come from gossip, from
 * seeds typed by operators, or from DHCP, and they change; a certificate cannot list them all.
 * Every holder of a cluster certificate is a member with the same rights, so the question a
 * connection must answer is "is the peer a member of this cluster?", which the chain answers.
 * Who the peer is (its node name) is read from its certificate with {@link PeerIdentity}
 * when it matters. The JDK would add a host name check for a plain {@code X509TrustManager}
 * when the engine asks for one (gRPC clients do), hence this {@code X509ExtendedTrustManager}.
 */
public final class ClusterTrustManager extends X509ExtendedTrustManager {

    private final X509ExtendedTrustManager pkix;

    private ClusterTrustManager(X509ExtendedTrustManager pkix) {
        this.pkix = pkix;
    }

    /** A trust manager whose only anchor is the CA in the node's trust store. */
    public static ClusterTrustManager of(NodeCredentials creds) throws IOException, GeneralSecurityException {
        for (TrustManager tm : creds.trustManagers().getTrustManagers()) {
            if (tm instanceof X509ExtendedTrustManager x) {
                return new ClusterTrustManager(x);
            }
        }
        throw new GeneralSecurityException("no X.509 trust manager for " + creds.trustStorePath());
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        pkix.checkClientTrusted(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        pkix.checkServerTrusted(chain, authType);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        pkix.checkClientTrusted(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        pkix.checkServerTrusted(chain, authType);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        pkix.checkClientTrusted(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        pkix.checkServerTrusted(chain, authType);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return pkix.getAcceptedIssuers();
    }
}

package dev.gestalt.security;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * The credentials of one node, as {@link ClusterCa} writes them into a folder:
 * <ul>
 *   <li>{@code ca.crt} — the cluster CA certificate (PEM), the only trust root;</li>
 *   <li>{@code node.crt}, {@code node.key} — this node's certificate and key (PEM, for people and tools);</li>
 *   <li>{@code node.p12} — the same key and chain as a PKCS#12 key store;</li>
 *   <li>{@code trust.p12} — the CA certificate as a PKCS#12 trust store;</li>
 *   <li>{@code crl.pem} — the cluster's revocation list, signed by the CA (optional; see {@link Revocations}).</li>
 * </ul>
 * The node certificate names the node and its id ({@link PeerIdentity}); it is short-lived
 * ({@link ClusterCa#NODE_VALIDITY}) and renewed in place: TLS picks up a new {@code node.p12}
 * at the next handshake ({@link ReloadingKeyManager}).
 * The key stores are protected by the file mode (0600), not by their password,
 * which is the fixed {@link #STORE_PASSWORD}: PKCS#12 requires one.
 */
public record NodeCredentials(Path dir) {

    public static final String STORE_PASSWORD = "gestalt";
    /** The alias of the node's key entry in {@code node.p12}. */
    public static final String KEY_ALIAS = "node";

    public Path caCert() { return dir.resolve("ca.crt"); }
    public Path cert() { return dir.resolve("node.crt"); }
    public Path key() { return dir.resolve("node.key"); }
    public Path keyStorePath() { return dir.resolve("node.p12"); }
    public Path trustStorePath() { return dir.resolve("trust.p12"); }
    public Path crl() { return dir.resolve("crl.pem"); }

    public boolean exists() {
        return Files.isRegularFile(keyStorePath()) && Files.isRegularFile(trustStorePath());
    }

    public KeyStore keyStore() throws IOException, GeneralSecurityException {
        return load(keyStorePath());
    }

    public KeyStore trustStore() throws IOException, GeneralSecurityException {
        return load(trustStorePath());
    }

    public KeyManagerFactory keyManagers() throws IOException, GeneralSecurityException {
        var kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keyStore(), STORE_PASSWORD.toCharArray());
        return kmf;
    }

    public TrustManagerFactory trustManagers() throws IOException, GeneralSecurityException {
        var tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trustStore());
        return tmf;
    }

    /** This node's key and certificate for TLS, read again when {@code node.p12} changes. */
    public X509ExtendedKeyManager keyManager() throws IOException, GeneralSecurityException {
        return new ReloadingKeyManager(this);
    }

    /**
     * A TLS 1.3 context that presents this node's certificate and trusts only the cluster CA;
     * peers are verified by their chain, not their host name, and against the revocation list
     * ({@link ClusterTrustManager}).
     */
    public SSLContext sslContext() throws IOException, GeneralSecurityException {
        var ctx = SSLContext.getInstance("TLSv1.3");
        ctx.init(new KeyManager[] {keyManager()}, new TrustManager[] {ClusterTrustManager.of(this)}, null);
        return ctx;
    }

    /** The revocation list of this node (shared by all its TLS users). */
    public Revocations revocations() throws IOException, GeneralSecurityException {
        return Revocations.of(this);
    }

    /** This node's certificate, as {@code node.crt} holds it. */
    public X509Certificate certificate() throws IOException, GeneralSecurityException {
        return Pem.readCertificate(cert());
    }

    /** The cluster CA certificate, as {@code ca.crt} holds it. */
    public X509Certificate caCertificate() throws IOException, GeneralSecurityException {
        return Pem.readCertificate(caCert());
    }

    /** The node name, id and cluster id this node's certificate names. */
    public PeerIdentity identity() throws IOException, GeneralSecurityException {
        return PeerIdentity.of(certificate());
    }

    private static KeyStore load(Path p) throws IOException, GeneralSecurityException {
        var ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(p)) {
            ks.load(in, STORE_PASSWORD.toCharArray());
        }
        return ks;
    }
}

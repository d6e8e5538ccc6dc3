package dev.gestalt.security;

import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.GeneralSecurityException;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.logging.Logger;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * The node's key and certificate for TLS, read again when {@code node.p12} changes: renewed
 * credentials ({@code gestalt init --renew}, or {@code cluster up} renewing a local cluster's) are
 * used from the next handshake on, without a restart. Checked at most once per second, at a
 * handshake; a file that cannot be read keeps the previous key in use (and is logged).
 */
final class ReloadingKeyManager extends X509ExtendedKeyManager {

    private static final Logger LOG = Logger.getLogger(ReloadingKeyManager.class.getName());

    private final NodeCredentials creds;
    private volatile X509ExtendedKeyManager current;
    private volatile String seen;
    private volatile long nextCheckNanos;

    ReloadingKeyManager(NodeCredentials creds) throws IOException, GeneralSecurityException {
        this.creds = creds;
        this.seen = stamp();
        this.current = load();
        this.nextCheckNanos = System.nanoTime() + Revocations.CHECK_MILLIS * 1_000_000;
    }

    private X509ExtendedKeyManager load() throws IOException, GeneralSecurityException {
        for (KeyManager km : creds.keyManagers().getKeyManagers()) {
            if (km instanceof X509ExtendedKeyManager x) {
                return x;
            }
        }
        throw new GeneralSecurityException("no X.509 key manager for " + creds.keyStorePath());
    }

    private String stamp() throws IOException {
        BasicFileAttributes a = Files.readAttributes(creds.keyStorePath(), BasicFileAttributes.class);
        return a.size() + "@" + a.lastModifiedTime().toMillis() + "#" + a.fileKey();
    }

    private X509ExtendedKeyManager km() {
        if (System.nanoTime() - nextCheckNanos >= 0) {
            synchronized (this) {
                nextCheckNanos = System.nanoTime() + Revocations.CHECK_MILLIS * 1_000_000;
                try {
                    String now = stamp();
                    if (!now.equals(seen)) {
                        current = load();
                        seen = now;
                        LOG.info("node credentials in " + creds.dir() + " changed: using the new certificate");
                    }
                } catch (IOException | GeneralSecurityException e) {
                    LOG.warning("cannot read the node credentials in " + creds.dir() + " (" + e.getMessage()
                        + "); keeping the ones in use");
                }
            }
        }
        return current;
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
        return km().getClientAliases(keyType, issuers);
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
        return km().chooseClientAlias(keyType, issuers, socket);
    }

    @Override
    public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
        return km().chooseEngineClientAlias(keyType, issuers, engine);
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
        return km().getServerAliases(keyType, issuers);
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        return km().chooseServerAlias(keyType, issuers, socket);
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
        return km().chooseEngineServerAlias(keyType, issuers, engine);
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
        return current.getCertificateChain(alias); // the alias was chosen a moment ago: no reload in between
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
        return current.getPrivateKey(alias);
    }
}

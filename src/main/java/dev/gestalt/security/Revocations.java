package dev.gestalt.security;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.GeneralSecurityException;
import java.security.cert.X509CRL;
import java.security.cert.X509CRLEntry;
import java.security.cert.X509Certificate;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;

/**
 * The certificates this node refuses although they chain to the cluster CA: the serial numbers
 * in {@code crl.pem} of the node's credentials folder, a revocation list signed by the cluster CA
 * ({@code gestalt init --revoke NODE} writes it).
 *
 * <p>The file is read when it changes, not only at start: every question asked here (each TLS
 * handshake, each group message, each RPC) first checks, at most once per {@link #CHECK_MILLIS},
 * whether the file's size or modification time changed, and reads it again if so. A revoked node
 * is therefore refused within a second or two of the file landing on a node, on connections it
 * already holds too. A list that does not verify against the CA (or cannot be read) is logged and
 * ignored: the previous list stays in force, so a damaged file never lifts a revocation.
 */
public final class Revocations {

    private static final Logger LOG = Logger.getLogger(Revocations.class.getName());
    /** How often the file is looked at (a stat), at most. */
    static final long CHECK_MILLIS = 1_000;
    private static final Map<Path, Revocations> BY_FILE = new ConcurrentHashMap<>();

    private final Path file;
    private final X509Certificate ca;
    private volatile Set<BigInteger> revoked = Set.of();
    private volatile long nextCheckNanos;
    private volatile String seen = "";

    private Revocations(Path file, X509Certificate ca) {
        this.file = file;
        this.ca = ca;
        refresh();
    }

    /** The revocation list of these credentials (one instance per file, shared by every TLS user of the node). */
    public static Revocations of(NodeCredentials creds) throws IOException, GeneralSecurityException {
        X509Certificate ca = creds.caCertificate();
        Path f = creds.crl().toAbsolutePath().normalize();
        Revocations r = BY_FILE.computeIfAbsent(f, p -> new Revocations(p, ca));
        if (!r.ca.equals(ca)) {
            // same path, new CA (a test that reuses a folder): start over
            r = new Revocations(f, ca);
            BY_FILE.put(f, r);
        }
        return r;
    }

    /** Whether the certificate with this serial number is revoked. */
    public boolean isRevoked(BigInteger serial) {
        if (System.nanoTime() - nextCheckNanos >= 0) {
            refresh();
        }
        return revoked.contains(serial);
    }

    public boolean isRevoked(PeerIdentity peer) {
        return isRevoked(peer.serial());
    }

    private synchronized void refresh() {
        nextCheckNanos = System.nanoTime() + CHECK_MILLIS * 1_000_000;
        String stamp;
        try {
            BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
            stamp = a.size() + "@" + a.lastModifiedTime().toMillis() + "#" + a.fileKey();
        } catch (NoSuchFileException e) {
            stamp = "none";
        } catch (IOException e) {
            LOG.warning("cannot read the revocation list " + file + ": " + e.getMessage() + "; keeping the previous one");
            return;
        }
        if (stamp.equals(seen)) {
            return;
        }
        seen = stamp;
        if (stamp.equals("none")) {
            return; // no list (yet): nothing revoked beyond what was already loaded
        }
        try {
            X509CRL crl = Pem.readCrl(file);
            crl.verify(ca.getPublicKey());
            Set<BigInteger> serials = new HashSet<>();
            if (crl.getRevokedCertificates() != null) {
                for (X509CRLEntry e : crl.getRevokedCertificates()) {
                    serials.add(e.getSerialNumber());
                }
            }
            serials.addAll(revoked); // a newer list never lifts a revocation this daemon has seen
            if (!serials.equals(revoked)) {
                LOG.info("revocation list " + file + " loaded: " + serials.size() + " certificate(s) revoked");
            }
            revoked = Set.copyOf(serials);
        } catch (IOException | GeneralSecurityException | RuntimeException e) {
            LOG.severe("revocation list " + file + " is not valid (" + e.getMessage()
                + "); keeping the previous one");
        }
    }
}

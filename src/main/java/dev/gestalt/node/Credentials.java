package dev.gestalt.node;

import dev.gestalt.security.ClusterCa;
import dev.gestalt.security.NodeCredentials;
import dev.gestalt.security.PeerIdentity;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.logging.Logger;

/**
 * The checks a daemon makes on its own credentials before it starts: a node is who its
 * certificate says, so the name and id in node.conf must be the certificate's (a copied or edited
 * config cannot make a node speak as another, or two nodes share an id); and a certificate that
 * is expired or revoked (by the revocation list in the same folder) does not start a node. A
 * certificate close to its end is warned about at start and every day after.
 */
final class Credentials {

    private static final Logger LOG = Logger.getLogger(Credentials.class.getName());

    private Credentials() {}

    static void check(NodeConfig config, NodeCredentials creds) throws IOException, GeneralSecurityException {
        if (!creds.exists()) {
            throw new IOException("no credentials in " + config.credentials() + " (create them with 'gestalt init')");
        }
        X509Certificate cert = creds.certificate();
        PeerIdentity me = PeerIdentity.of(cert);
        String renew = "renew them with 'gestalt init --dir DIR --renew' (a local cluster: 'gestalt cluster up')";
        if (!me.hasId()) {
            throw new IOException("the credentials in " + config.credentials() + " name no node id (issued before ids were"
                + " bound to certificates): " + renew);
        }
        if (!me.nodeName().equals(config.name()) || me.nodeId() != config.id()) {
            throw new IOException("the credentials in " + config.credentials() + " are those of node " + me.describe()
                + ", not of " + config.name() + " (id " + config.id() + ") as node.conf says");
        }
        Instant notAfter = cert.getNotAfter().toInstant();
        if (Instant.now().isAfter(notAfter)) {
            throw new IOException("the certificate in " + config.credentials() + " expired on " + notAfter + ": " + renew);
        }
        if (creds.revocations().isRevoked(me)) {
            throw new IOException("the certificate in " + config.credentials() + " is revoked (" + creds.crl() + ")");
        }
        warnIfDue(creds);
    }

    /** Logs a warning when this node's certificate expires within {@link ClusterCa#RENEW_BEFORE} (checked daily too). */
    static void warnIfDue(NodeCredentials creds) {
        try {
            Instant notAfter = creds.certificate().getNotAfter().toInstant();
            Duration left = Duration.between(Instant.now(), notAfter);
            if (left.compareTo(ClusterCa.RENEW_BEFORE) < 0) {
                LOG.warning("this node's certificate expires on " + notAfter + " (in " + left.toDays() + " days): renew it"
                    + " with 'gestalt init --dir DIR --renew' (a local cluster: 'gestalt cluster up')");
            }
        } catch (IOException | GeneralSecurityException e) {
            LOG.warning("cannot read this node's certificate in " + creds.dir() + ": " + e.getMessage());
        }
    }
}

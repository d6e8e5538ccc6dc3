package dev.gestalt.security;

import java.math.BigInteger;
import java.security.cert.X509Certificate;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;

/**
 * Who a certificate names: the node (CN), its numeric id (UID), the cluster it belongs to (O, the
 * cluster id), and the certificate's serial number (what a revocation list names).
 *
 * <p>A node is who its certificate says: its name and id are bound to its key by the cluster CA,
 * and everything that identifies a node between nodes (its JGroups member name and id, the home
 * node of a process it starts, the GPIDs it hands out) must agree with them. Trust itself comes
 * from the chain to the cluster CA ({@link ClusterTrustManager}), never from these names alone.
 *
 * @param nodeName the certificate's common name: a node name, or {@link ClusterCa#CA_NAME} for a CA
 * @param nodeId the node id, {@link #NO_ID} when the certificate carries none (a CA, or credentials
 *               issued before ids were bound: they must be renewed)
 * @param clusterId the cluster id the certificate was issued for
 * @param serial the certificate's serial number
 */
public record PeerIdentity(String nodeName, int nodeId, String clusterId, BigInteger serial) {

    /** The id of a certificate that names none. */
    public static final int NO_ID = -1;

    /** Reads the names from a certificate's subject; a missing name reads as {@code "?"}, a missing id as {@link #NO_ID}. */
    public static PeerIdentity of(X509Certificate cert) {
        String cn = "?";
        String o = "?";
        int id = NO_ID;
        try {
            for (Rdn rdn : new LdapName(cert.getSubjectX500Principal().getName()).getRdns()) {
                String value = rdn.getValue().toString();
                switch (rdn.getType().toUpperCase(java.util.Locale.ROOT)) {
                    case "CN" -> cn = value;
                    case "O" -> o = value;
                    case "UID" -> id = parseId(value);
                    default -> { }
                }
            }
        } catch (InvalidNameException e) {
            // a subject the JDK printed must parse; keep the placeholders if it does not
        }
        return new PeerIdentity(cn, id, o, cert.getSerialNumber());
    }

    private static int parseId(String s) {
        try {
            int id = Integer.parseInt(s);
            return id > 0 ? id : NO_ID;
        } catch (NumberFormatException e) {
            return NO_ID;
        }
    }

    /** Whether the certificate binds a node id. */
    public boolean hasId() {
        return nodeId != NO_ID;
    }

    /** "node2 (id 2)", for messages. */
    public String describe() {
        return nodeName + (hasId() ? " (id " + nodeId + ")" : " (no node id)");
    }

    @Override
    public String toString() {
        return nodeName + "@" + clusterId;
    }
}

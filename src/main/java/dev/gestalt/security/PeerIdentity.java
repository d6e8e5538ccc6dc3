package dev.gestalt.security;

import java.security.cert.X509Certificate;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;

/**
 * Who a certificate names: the node (CN) and the cluster it belongs to (O, the cluster id).
 * Used to say in messages and logs which node, and which cluster, a peer claims to be;
 * trust itself comes from the chain to the cluster CA, never from these names.
 *
 * @param nodeName the certificate's common name: a node name, or {@link ClusterCa#CA_NAME} for a CA
 * @param clusterId the cluster id the certificate was issued for
 */
public record PeerIdentity(String nodeName, String clusterId) {

    /** Reads the names from a certificate's subject; a missing attribute reads as {@code "?"}. */
    public static PeerIdentity of(X509Certificate cert) {
        String cn = "?";
        String o = "?";
        try {
            for (Rdn rdn : new LdapName(cert.getSubjectX500Principal().getName()).getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN")) {
                    cn = rdn.getValue().toString();
                } else if (rdn.getType().equalsIgnoreCase("O")) {
                    o = rdn.getValue().toString();
                }
            }
        } catch (InvalidNameException e) {
            // a subject the JDK printed must parse; keep the placeholders if it does not
        }
        return new PeerIdentity(cn, o);
    }

    @Override
    public String toString() {
        return nodeName + "@" + clusterId;
    }
}

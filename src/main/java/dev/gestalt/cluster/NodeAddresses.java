package dev.gestalt.cluster;

import java.nio.charset.StandardCharsets;
import org.jgroups.Address;
import org.jgroups.stack.AddressGenerator;
import org.jgroups.util.ExtendedUUID;
import org.jgroups.util.NameCache;

/**
 * A node's JGroups member address carries its name and id: an {@link ExtendedUUID} with two keys.
 *
 * <p>Why in the address: it travels in every message (as the sender) and in every view, so the
 * transport can compare, message by message, who a sender says it is with the certificate of the
 * connection the message came on ({@link CertifiedTcp}), and a join can be checked against the
 * names and ids already in the view ({@link UniqueMembers}) without asking anyone. JGroups' own
 * logical names ({@link NameCache}) come from discovery and are not tied to a sender.
 */
final class NodeAddresses {

    static final String NAME_KEY = "gestalt.node";
    static final String ID_KEY = "gestalt.id";
    /** The id of an address that carries none. */
    static final int NO_ID = -1;

    private NodeAddresses() {}

    /** Generates this node's addresses: a fresh UUID at every connect, with the node's name and id. */
    static AddressGenerator generator(String name, int id) {
        return new AddressGenerator() {
            @Override
            public Address generateAddress() {
                return generateAddress(name);
            }

            @Override
            public Address generateAddress(String ignored) {
                return ExtendedUUID.randomUUID(name)
                    .put(NAME_KEY, name.getBytes(StandardCharsets.UTF_8))
                    .put(ID_KEY, Integer.toString(id).getBytes(StandardCharsets.US_ASCII));
            }
        };
    }

    /** The node name an address carries, or {@code null}. */
    static String nameOf(Address a) {
        if (a instanceof ExtendedUUID e) {
            byte[] v = e.get(NAME_KEY);
            if (v != null) {
                return new String(v, StandardCharsets.UTF_8);
            }
        }
        return null;
    }

    /** The node id an address carries, or {@link #NO_ID}. */
    static int idOf(Address a) {
        if (a instanceof ExtendedUUID e) {
            byte[] v = e.get(ID_KEY);
            if (v != null) {
                try {
                    return Integer.parseInt(new String(v, StandardCharsets.US_ASCII));
                } catch (NumberFormatException ignored) {
                    return NO_ID;
                }
            }
        }
        return NO_ID;
    }

    /** The name to show for an address: the one it carries, else JGroups' logical name, else the UUID. */
    static String display(Address a) {
        String n = nameOf(a);
        if (n == null) {
            n = NameCache.get(a);
        }
        return n != null ? n : String.valueOf(a);
    }
}

package dev.gestalt.cluster;

import dev.gestalt.RateLimitedLog;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.logging.Logger;
import org.jgroups.Address;
import org.jgroups.BytesMessage;
import org.jgroups.Event;
import org.jgroups.MergeView;
import org.jgroups.Message;
import org.jgroups.View;
import org.jgroups.conf.ClassConfigurator;
import org.jgroups.protocols.pbcast.GMS;
import org.jgroups.protocols.pbcast.JoinRsp;
import org.jgroups.stack.Protocol;
import org.jgroups.util.MessageBatch;

/**
 * No two members of a view share a node name or id: two daemons started with one node's
 * credentials, or two nodes given one id, would otherwise both be members and hand out the same
 * GPIDs. Placed right below GMS (as JGroups' AUTH is); names and ids come from the member
 * addresses ({@link NodeAddresses}), which the transport has checked against each sender's
 * certificate ({@link CertifiedTcp}). Two ways in, both closed:
 * <ul>
 *   <li>a join: the coordinator refuses it, and the joiner is told why (its connect fails with the
 *       reason; {@link Membership} retries for a while, since a restarted node may find its
 *       previous incarnation not yet out of the view, then gives up with that reason);</li>
 *   <li>a merge (a duplicate that missed the cluster at its start formed a group of its own, which
 *       MERGE3 then tries to merge): every subgroup coordinator drops a merge view with a
 *       duplicate, so no member ever installs one; the duplicate in the smaller subgroup (the
 *       later one in the view on a tie) learns it is refused ({@link #onRefused}) and leaves.</li>
 * </ul>
 * The refusing coordinator logs each refusal, once per 30 s.
 */
final class UniqueMembers extends Protocol {

    private static final Logger LOG = Logger.getLogger(UniqueMembers.class.getName());
    private static final short GMS_ID = ClassConfigurator.getProtocolId(GMS.class);

    private final RateLimitedLog refusals = new RateLimitedLog(LOG, 30_000);
    private volatile View view;
    private volatile Consumer<String> onRefused = reason -> {};

    /** Told, once per merge attempt, that this node is the duplicate that must go, and why. */
    void onRefused(Consumer<String> c) {
        this.onRefused = c;
    }

    @Override
    public Object up(Message msg) {
        return refused(msg) ? null : up_prot.up(msg);
    }

    @Override
    public void up(MessageBatch batch) {
        for (Iterator<Message> it = batch.iterator(); it.hasNext(); ) {
            if (refused(it.next())) {
                it.remove();
            }
        }
        if (!batch.isEmpty()) {
            up_prot.up(batch);
        }
    }

    @Override
    public Object up(Event evt) {
        if (evt.getType() == Event.VIEW_CHANGE) {
            view = evt.getArg();
        }
        return up_prot.up(evt);
    }

    @Override
    public Object down(Event evt) {
        if (evt.getType() == Event.VIEW_CHANGE) {
            view = evt.getArg();
        }
        return down_prot.down(evt);
    }

    private boolean refused(Message msg) {
        if (!(msg.getHeader(GMS_ID) instanceof GMS.GmsHeader h)) {
            return false;
        }
        return switch (h.getType()) {
            case GMS.GmsHeader.JOIN_REQ, GMS.GmsHeader.JOIN_REQ_WITH_STATE_TRANSFER -> refusedJoin(msg);
            case GMS.GmsHeader.INSTALL_MERGE_VIEW -> refusedMerge(msg);
            default -> false;
        };
    }

    private boolean refusedJoin(Message msg) {
        Address joiner = msg.getSrc();
        String reason = conflict(joiner, view);
        if (reason == null) {
            return false;
        }
        refusals.log(joiner + reason, "refused " + describe(joiner) + ": " + reason);
        JoinRsp rsp = new JoinRsp(reason);
        down_prot.down(new BytesMessage(joiner).putHeader(GMS_ID, new GMS.GmsHeader(GMS.GmsHeader.JOIN_RSP))
            .setArray(GMS.marshal(rsp)));
        return true;
    }

    private boolean refusedMerge(Message msg) {
        View merged;
        try {
            var t = GMS._readViewAndDigest(msg.getArray(), msg.getOffset(), msg.getLength());
            merged = t == null ? null : t.val1();
        } catch (Exception e) {
            return false; // GMS reads it again and reports what is wrong with it
        }
        if (merged == null) {
            return false;
        }
        Map<Address, String> refused = duplicates(merged);
        if (refused.isEmpty()) {
            return false;
        }
        refused.forEach((a, reason) -> {
            refusals.log(a + "merge", "refused " + describe(a) + " (in a merge): " + reason);
            if (a.equals(local_addr)) {
                onRefused.accept(reason);
            }
        });
        return true;
    }

    private static String describe(Address a) {
        return NodeAddresses.display(a) + " (id " + NodeAddresses.idOf(a) + ")";
    }

    /** Why {@code joiner} may not join {@code view}, or null if it may. */
    static String conflict(Address joiner, View view) {
        String name = NodeAddresses.nameOf(joiner);
        int id = NodeAddresses.idOf(joiner);
        if (name == null || id == NodeAddresses.NO_ID) {
            return "it joined without a node name and id";
        }
        if (view == null) {
            return null;
        }
        for (Address m : view.getMembers()) {
            if (m.equals(joiner)) {
                continue;
            }
            if (name.equals(NodeAddresses.nameOf(m))) {
                return "a node named " + name + " is already in the view";
            }
            if (id == NodeAddresses.idOf(m)) {
                return "node " + NodeAddresses.display(m) + " already has id " + id;
            }
        }
        return null;
    }

    /**
     * The members of a merge view that share a name or id with another and must go, each with why:
     * all but the one from the largest subgroup (the one that was there), the first in the view on
     * a tie.
     */
    static Map<Address, String> duplicates(View merged) {
        List<Address> members = merged.getMembers();
        Map<Address, String> out = new LinkedHashMap<>();
        for (Address a : members) {
            for (Address b : members) {
                if (a == b || out.containsKey(a) || !outranks(b, a, merged)) {
                    continue;
                }
                String name = NodeAddresses.nameOf(a);
                if (name != null && name.equals(NodeAddresses.nameOf(b))) {
                    out.put(a, "a node named " + name + " is already in the view");
                } else if (NodeAddresses.idOf(a) != NodeAddresses.NO_ID && NodeAddresses.idOf(a) == NodeAddresses.idOf(b)) {
                    out.put(a, "node " + NodeAddresses.display(b) + " already has id " + NodeAddresses.idOf(a));
                }
            }
        }
        return out;
    }

    /** Whether {@code b} stays rather than {@code a}. */
    private static boolean outranks(Address b, Address a, View merged) {
        int sa = subgroupSize(a, merged);
        int sb = subgroupSize(b, merged);
        return sb != sa ? sb > sa : merged.getMembers().indexOf(b) < merged.getMembers().indexOf(a);
    }

    private static int subgroupSize(Address a, View merged) {
        if (merged instanceof MergeView mv && mv.getSubgroups() != null) {
            for (View v : mv.getSubgroups()) {
                if (v.containsMember(a)) {
                    return v.size();
                }
            }
        }
        return 0;
    }
}

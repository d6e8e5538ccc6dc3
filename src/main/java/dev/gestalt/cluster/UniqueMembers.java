package dev.gestalt.cluster;

import java.util.Iterator;
import java.util.logging.Logger;
import org.jgroups.Address;
import org.jgroups.BytesMessage;
import org.jgroups.Event;
import org.jgroups.Message;
import org.jgroups.View;
import org.jgroups.conf.ClassConfigurator;
import org.jgroups.protocols.pbcast.GMS;
import org.jgroups.protocols.pbcast.JoinRsp;
import org.jgroups.stack.Protocol;
import org.jgroups.util.MessageBatch;

/**
 * Refuses, on the coordinator, a join by a node whose name or id is already in the view: two
 * daemons started with one node's credentials, or two nodes given one id, would otherwise both be
 * members and hand out the same GPIDs. Placed right below GMS (as JGroups' AUTH is); the joiner's
 * name and id come from its address ({@link NodeAddresses}), which the transport has already
 * checked against its certificate ({@link CertifiedTcp}).
 *
 * <p>The refused node is told why (JGroups' join response carries a reason, and its connect fails
 * with it: {@link Membership} retries for a while, since a restarted node may find its previous
 * incarnation not yet out of the view, then gives up with that reason). Both sides log it.
 */
final class UniqueMembers extends Protocol {

    private static final Logger LOG = Logger.getLogger(UniqueMembers.class.getName());
    private static final short GMS_ID = ClassConfigurator.getProtocolId(GMS.class);

    private volatile View view;

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
        if (!(msg.getHeader(GMS_ID) instanceof GMS.GmsHeader h)
            || (h.getType() != GMS.GmsHeader.JOIN_REQ && h.getType() != GMS.GmsHeader.JOIN_REQ_WITH_STATE_TRANSFER)) {
            return false;
        }
        Address joiner = msg.getSrc();
        String reason = conflict(joiner, view);
        if (reason == null) {
            return false;
        }
        LOG.warning("refused " + NodeAddresses.display(joiner) + " (id " + NodeAddresses.idOf(joiner) + "): " + reason);
        JoinRsp rsp = new JoinRsp(reason);
        down_prot.down(new BytesMessage(joiner).putHeader(GMS_ID, new GMS.GmsHeader(GMS.GmsHeader.JOIN_RSP))
            .setArray(GMS.marshal(rsp)));
        return true;
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
}

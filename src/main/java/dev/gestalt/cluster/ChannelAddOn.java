package dev.gestalt.cluster;

import java.util.List;
import org.jgroups.JChannel;
import org.jgroups.stack.Protocol;

/**
 * What a space adds to the node's channel: protocols on top of the stack (e.g. jgroups-raft's
 * ELECTION, RAFT, REDIRECT) and the services it attaches before the channel connects
 * (jgroups-raft requires its handles to exist before {@code connect()}).
 */
public interface ChannelAddOn {

    /** Protocols to add on top of {@link ChannelStack}'s, bottom first. */
    List<Protocol> protocols();

    /** Called once the channel exists, before it connects. */
    void attach(JChannel channel) throws Exception;
}

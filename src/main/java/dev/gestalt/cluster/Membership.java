package dev.gestalt.cluster;

import java.lang.System.Logger.Level;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.jgroups.Address;
import org.jgroups.BytesMessage;
import org.jgroups.JChannel;
import org.jgroups.Message;
import org.jgroups.Receiver;
import org.jgroups.View;

/**
 * This node's membership in the cluster: a JGroups channel (see {@link ChannelStack} for the
 * protocols and their timeouts), the current view, and the load table filled by gossip.
 *
 * <p>Every {@linkplain MembershipConfig#gossipInterval() gossip interval}, and at once when new
 * members join, the node sends its {@link LoadReport} to all members. Gossip is sent without
 * reliability or flow control: a lost report is replaced by the next one, and a frozen member
 * must never hold back the others' gossip. A report is accepted only under its sender's own
 * name and id, which the transport has checked against its certificate, so no member can write
 * another's row.
 *
 * <p>Identity: this node's member address carries its name and id ({@link NodeAddresses}); member
 * names shown and used here are those, never JGroups' self-asserted logical names. A join under a
 * name or id already in the view is refused by the coordinator; {@link #start} retries for
 * {@link #REFUSED_RETRY_MILLIS} (a restarted node's previous incarnation may still be in the view),
 * then throws {@link RefusedException}. A duplicate that formed a group of its own is never merged
 * in; it is told to go ({@link MembershipListener#onRefused}).
 *
 * <p>Lifecycle: {@link #start} connects and returns once this node is in a view (alone, if no
 * seed answered within the join timeout); {@link #close} leaves the group gracefully, which
 * the others see as an immediate view change.
 */
public final class Membership implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(Membership.class.getName());

    private final MembershipConfig cfg;
    private final Supplier<LoadReport> localLoad;
    private final MembershipListener listener;
    private final JChannel channel;
    private final LoadTable table = new LoadTable(System::nanoTime);
    private final ScheduledExecutorService gossip;
    private final ExecutorService events;
    private volatile Set<String> members = Set.of();
    private volatile boolean closed;

    private Membership(MembershipConfig cfg, Supplier<LoadReport> localLoad, MembershipListener listener,
            List<ChannelAddOn> addOns) throws Exception {
        this.cfg = cfg;
        this.localLoad = localLoad;
        this.listener = listener;
        var protocols = ChannelStack.protocols(cfg);
        for (ChannelAddOn a : addOns) {
            protocols.addAll(a.protocols());
        }
        this.channel = new JChannel(protocols);
        this.gossip = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().daemon().name("gestalt-gossip-" + cfg.nodeName()).factory());
        this.events = Executors.newSingleThreadExecutor(
                Thread.ofPlatform().daemon().name("gestalt-views-" + cfg.nodeName()).factory());
    }

    /**
     * Joins the cluster and starts gossiping.
     *
     * @param localLoad called at every gossip round for this node's report; its node name, id and
     *                  RPC address are replaced by the configured ones
     * @param listener told of every view change
     */
    public static Membership start(MembershipConfig cfg, Supplier<LoadReport> localLoad, MembershipListener listener)
            throws Exception {
        return start(cfg, localLoad, listener, List.of());
    }

    /** As {@link #start(MembershipConfig, Supplier, MembershipListener)}, with add-ons on the channel. */
    public static Membership start(MembershipConfig cfg, Supplier<LoadReport> localLoad, MembershipListener listener,
            List<ChannelAddOn> addOns) throws Exception {
        var m = new Membership(Objects.requireNonNull(cfg), Objects.requireNonNull(localLoad),
                listener == null ? MembershipListener.NONE : listener, addOns);
        try {
            for (ChannelAddOn a : addOns) {
                a.attach(m.channel);
            }
            m.connect();
        } catch (Exception e) {
            m.close();
            throw e;
        }
        return m;
    }

    /**
     * How long a join refused because this node's name or id is in the view is retried: a node
     * restarted after a crash may find its previous incarnation still there until failure
     * detection (10 s) removes it. A second daemon with the same name or id is refused for good.
     */
    static final long REFUSED_RETRY_MILLIS = 20_000;

    private void connect() throws Exception {
        channel.setName(cfg.nodeName());
        channel.addAddressGenerator(NodeAddresses.generator(cfg.nodeName(), cfg.nodeId()));
        UniqueMembers unique = channel.getProtocolStack().findProtocol(UniqueMembers.class);
        unique.onRefused(reason -> {
            LOG.log(Level.ERROR, "the cluster refused " + cfg.nodeName() + " (id " + cfg.nodeId() + "): " + reason);
            try {
                events.execute(() -> listener.onRefused(reason));
            } catch (RejectedExecutionException e) {
                // closing already
            }
        });
        channel.setDiscardOwnMessages(true);
        channel.setReceiver(new Receiver() {
            @Override
            public void receive(Message msg) {
                onGossip(msg);
            }

            @Override
            public void viewAccepted(View view) {
                onView(view);
            }
        });
        long deadline = System.nanoTime() + REFUSED_RETRY_MILLIS * 1_000_000;
        while (true) {
            try {
                channel.connect(cfg.clusterName());
                break;
            } catch (SecurityException e) {
                if (System.nanoTime() - deadline > 0) {
                    throw new RefusedException("the cluster refused " + cfg.nodeName() + " (id " + cfg.nodeId()
                        + "): " + e.getMessage() + " (is another daemon running with these credentials?)");
                }
                LOG.log(Level.WARNING, "the cluster refused " + cfg.nodeName() + " (id " + cfg.nodeId() + "): "
                    + e.getMessage() + "; retrying");
                Thread.sleep(2_000);
            }
        }
        long period = cfg.gossipInterval().toMillis();
        gossip.scheduleAtFixedRate(this::gossipOnce, 0, period, TimeUnit.MILLISECONDS);
    }

    /** Names of the current view's members, the coordinator first. */
    public List<String> view() {
        return List.copyOf(members);
    }

    /** The bulletin board: the latest report of every node seen, including nodes no longer in view. */
    public Map<String, LoadEntry> loadTable() {
        return table.snapshot(members);
    }

    /** Whether {@code node} is in the current view. */
    public boolean isMember(String node) {
        return members.contains(node);
    }

    /** This node's name. */
    public String nodeName() {
        return cfg.nodeName();
    }

    /** Leaves the group gracefully and stops gossiping. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        gossip.shutdownNow();
        channel.close();
        events.shutdown();
    }

    /** The channel, for tests that inject faults into the stack. */
    JChannel channel() {
        return channel;
    }

    /** Sends this node's report now rather than at the next round (its drain changed). */
    public void gossipNow() {
        try {
            gossip.execute(this::gossipOnce);
        } catch (RejectedExecutionException e) {
            // closing
        }
    }

    private void gossipOnce() {
        if (closed) {
            return;
        }
        try {
            LoadReport r = localLoad.get().withIdentity(cfg.nodeName(), cfg.nodeId(), cfg.rpcAddress());
            table.put(r);
            if (channel.isConnected()) {
                Message msg = new BytesMessage(null, r.toBytes())
                        .setFlag(Message.Flag.NO_RELIABILITY, Message.Flag.NO_FC);
                channel.send(msg);
            }
        } catch (Exception e) {
            if (!closed) {
                LOG.log(Level.WARNING, "gossip round failed on " + cfg.nodeName(), e);
            }
        }
    }

    private void onGossip(Message msg) {
        String sender = NodeAddresses.display(msg.getSrc());
        LoadReport r;
        try {
            r = LoadReport.parse(msg.getArray(), msg.getOffset(), msg.getLength());
        } catch (Exception e) {
            LOG.log(Level.WARNING, "bad load report from " + sender + ": " + e);
            return;
        }
        if (!r.node().equals(sender) || r.nodeId() != NodeAddresses.idOf(msg.getSrc())) {
            LOG.log(Level.WARNING, sender + " (id " + NodeAddresses.idOf(msg.getSrc()) + ") sent a load report for "
                + r.node() + " (id " + r.nodeId() + "); dropped");
            return;
        }
        table.put(r);
    }

    private void onView(View view) {
        var now = new LinkedHashSet<String>();
        for (Address a : view.getMembers()) {
            now.add(NodeAddresses.display(a));
        }
        Set<String> before = members;
        Set<String> joined = new LinkedHashSet<>(now);
        joined.removeAll(before);
        Set<String> left = new LinkedHashSet<>(before);
        left.removeAll(now);
        Set<String> current = Collections.unmodifiableSet(now);
        members = current;
        table.markLeft(left);
        try {
            if (!joined.isEmpty()) {
                gossip.execute(this::gossipOnce);
            }
            events.execute(() -> {
                try {
                    listener.onView(current, Collections.unmodifiableSet(joined), Collections.unmodifiableSet(left));
                } catch (RuntimeException e) {
                    LOG.log(Level.WARNING, "membership listener failed", e);
                }
            });
        } catch (RejectedExecutionException e) {
            // closing: the last views are of no interest any more
        }
    }

    /** Thrown by {@link #start} when the cluster refuses this node for good (its name or id is taken). */
    public static final class RefusedException extends Exception {
        RefusedException(String message) {
            super(message);
        }
    }
}

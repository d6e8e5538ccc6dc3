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
import org.jgroups.util.NameCache;

/**
 * This node's membership in the cluster: a JGroups channel (see {@link ChannelStack} for the
 * protocols and their timeouts), the current view, and the load table filled by gossip.
 *
 * <p>Every {@linkplain MembershipConfig#gossipInterval() gossip interval}, and at once when new
 * members join, the node sends its {@link LoadReport} to all members. Gossip is sent without
 * reliability or flow control: a lost report is replaced by the next one, and a frozen member
 * must never hold back the others' gossip. A report is accepted only under its sender's own
 * name, so no member can write another's row.
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

    private void connect() throws Exception {
        channel.setName(cfg.nodeName());
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
        channel.connect(cfg.clusterName());
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

    private void gossipOnce() {
        if (closed) {
            return;
        }
        try {
            LoadReport r = localLoad.get().withIdentity(cfg.nodeName(), cfg.nodeId(), cfg.rpcAddress());
            table.put(r);
            if (channel.isConnected()) {
                Message msg = new BytesMessage(null, LoadReportCodec.encode(r))
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
        String sender = name(msg.getSrc());
        LoadReport r;
        try {
            r = LoadReportCodec.decode(msg.getArray(), msg.getOffset(), msg.getLength());
        } catch (Exception e) {
            LOG.log(Level.WARNING, "bad load report from " + sender + ": " + e);
            return;
        }
        if (!r.node().equals(sender)) {
            LOG.log(Level.WARNING, sender + " sent a load report for " + r.node() + "; dropped");
            return;
        }
        table.put(r);
    }

    private void onView(View view) {
        var now = new LinkedHashSet<String>();
        for (Address a : view.getMembers()) {
            now.add(name(a));
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

    private static String name(Address a) {
        String n = NameCache.get(a);
        return n != null ? n : String.valueOf(a);
    }
}

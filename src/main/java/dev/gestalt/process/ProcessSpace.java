package dev.gestalt.process;

import dev.gestalt.cluster.LoadEntry;
import dev.gestalt.cluster.LoadReport;
import dev.gestalt.cluster.Membership;
import dev.gestalt.process.placement.InFlight;
import dev.gestalt.process.placement.NodeLoad;
import dev.gestalt.process.placement.Placement;
import dev.gestalt.process.placement.PlacementPolicy;
import dev.gestalt.process.placement.PlacementRequest;
import dev.gestalt.process.remote.RemoteExec;
import dev.gestalt.rpc.GestaltException;
import dev.gestalt.rpc.Peers;
import io.grpc.ManagedChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The process space as one node sees it: its GPIDs, its placement decisions
 * over the gossiped load table and its record of them ({@link Placements}),
 * its channels to execution nodes, and the remote processes it is home to
 * (ended with "node lost" when their execution node leaves the view).
 */
public final class ProcessSpace {

    private final String self;
    private final int selfId;
    private final Membership membership;
    private final Peers peers;
    private final GpidAllocator gpids;
    private final PlacementPolicy policy;
    private final Placements placements;
    private final InFlight inFlight = new InFlight();
    private final Set<RemoteExec> remote = ConcurrentHashMap.newKeySet();
    private final Set<LossWatch> watches = ConcurrentHashMap.newKeySet();

    /** A registration of {@link #onNodeLost}; closing it cancels it. */
    public interface Registration extends AutoCloseable {
        @Override
        void close();
    }

    /** One caller waiting on a node (identity matters: two may wait on the same node). */
    private static final class LossWatch {
        final String node;
        final Runnable lost;

        LossWatch(String node, Runnable lost) {
            this.node = node;
            this.lost = lost;
        }
    }

    public ProcessSpace(String self, int selfId, Membership membership, Peers peers, GpidAllocator gpids,
                        PlacementPolicy policy, Placements placements) {
        this.self = self;
        this.placements = placements;
        this.selfId = selfId;
        this.membership = membership;
        this.peers = peers;
        this.gpids = gpids;
        this.policy = policy;
    }

    public String self() {
        return self;
    }

    public int selfId() {
        return selfId;
    }

    public Membership membership() {
        return membership;
    }

    public Gpid newGpid() {
        return gpids.next();
    }

    /** Where this home node placed its processes. */
    public Placements placements() {
        return placements;
    }

    /** The name of the node with this id in the current view, or null when none is up. */
    public String nodeName(int id) {
        for (NodeLoad n : liveNodes()) {
            if (n.id() == id) {
                return n.node();
            }
        }
        return null;
    }

    /** The node in the current view named {@code nameOrId} (its name, or its id in digits), or null. */
    public String member(String nameOrId) {
        for (NodeLoad n : liveNodes()) {
            if (n.node().equals(nameOrId) || String.valueOf(n.id()).equals(nameOrId)) {
                return n.node();
            }
        }
        return null;
    }

    public ManagedChannel channel(String node) throws GestaltException.NodeLost {
        return peers.channel(node);
    }

    /** Every node in the current view with its latest load reading. */
    public List<NodeLoad> liveNodes() {
        List<NodeLoad> out = new ArrayList<>();
        for (Map.Entry<String, LoadEntry> e : membership.loadTable().entrySet()) {
            LoadEntry le = e.getValue();
            if (!le.inView()) {
                continue;
            }
            LoadReport r = le.report();
            out.add(new NodeLoad(r.node(), r.nodeId(), r.cpus(), r.load(), r.memFreeBytes(), r.memTotalBytes(),
                r.processes(), r.epochMillis(), le.age().toMillis(), r.draining()));
        }
        return out;
    }

    /** Names of the nodes in the current view. */
    public List<String> members() {
        return membership.view();
    }

    public Placement place(PlacementRequest request) throws GestaltException.NoEligibleNode {
        Placement p = policy.place(request, liveNodes(), inFlight);
        inFlight.placed(p.node());
        return p;
    }

    /** This home node placed the process {@code gpid} on {@code node} (see {@link Placements}). */
    public void placed(String gpid, String node) {
        placements.placed(Gpid.parse(gpid), node);
    }

    /** The process {@code gpid} ended and its client has its code: its record can go. */
    public void ended(String gpid) {
        placements.forget(Gpid.parse(gpid));
    }

    /** Ends {@code r} with "node NAME lost" when its node leaves the view (at once if it is not in it now). */
    public void track(RemoteExec r) {
        remote.add(r);
        if (!members().contains(r.node()) && remote.remove(r)) {
            r.nodeLost();
        }
    }

    /**
     * Runs {@code lost} once, when {@code node} leaves the view (at once if it is not in it now),
     * unless the registration is closed first: for calls that would otherwise wait on a node that
     * will never answer.
     */
    public Registration onNodeLost(String node, Runnable lost) {
        var w = new LossWatch(node, lost);
        watches.add(w);
        if (!members().contains(node) && watches.remove(w)) {
            lost.run();
        }
        return () -> watches.remove(w);
    }

    public void untrack(RemoteExec r) {
        remote.remove(r);
    }

    /** Membership says these nodes left: end every stream to them now, with "node NAME lost". */
    public void nodesLeft(Set<String> left) {
        for (RemoteExec r : remote) {
            if (left.contains(r.node())) {
                r.nodeLost();
            }
        }
        for (LossWatch w : watches) {
            if (left.contains(w.node) && watches.remove(w)) {
                w.lost.run();
            }
        }
    }

    /** The name of the node with this id as its load reports give it (in the view or not), else null. */
    public String nameOf(int nodeId) {
        for (LoadEntry e : membership.loadTable().values()) {
            if (e.report().nodeId() == nodeId) {
                return e.report().node();
            }
        }
        return null;
    }

    /** The name of the node with this id when it has left the view, else null. */
    public String departed(int nodeId) {
        for (LoadEntry e : membership.loadTable().values()) {
            if (e.report().nodeId() == nodeId && !e.inView()) {
                return e.report().node();
            }
        }
        return null;
    }
}

package dev.gestalt.process;

import dev.gestalt.rpc.GestaltException;
import dev.gestalt.rpc.local.ClientSession;
import dev.gestalt.rpc.proto.Caller;
import dev.gestalt.rpc.proto.ListRequest;
import dev.gestalt.rpc.proto.LocateRequest;
import dev.gestalt.rpc.proto.ProcInfo;
import dev.gestalt.rpc.proto.ProcsGrpc;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Process look-ups shared by ps, kill, wait, logs and attach. A listing asks every node (or
 * the one named), each of which reads /proc once. A GPID is found through its home node's
 * record of where it placed it ({@link Placements}; the GPID names its home: HOME-SEQ) and
 * then asked of that node alone: the cost does not grow with the cluster. Only GPIDs whose
 * home node is down, restarted, or has forgotten them cost a listing of the cluster, filtered
 * to those GPIDs and done once for all of them.
 */
public final class ProcessQueries {

    private ProcessQueries() {}

    /** Every node's processes; nodes that did not answer are named in {@code unreachable}. */
    public record Listing(List<ProcInfo> procs, List<String> unreachable) {}

    /**
     * Where GPIDs run.
     *
     * @param nodes       execution node by GPID, for those found
     * @param unreachable nodes that did not answer the look-up, each as "NAME (why)" (a GPID not
     *                    found may be there: see {@link #missing})
     */
    public record Located(Map<String, String> nodes, List<String> unreachable) {}

    public static Listing list(ProcessSpace space, boolean everyOsProcess) {
        return list(space, space.members(), ListRequest.newBuilder().setAllOsProcesses(everyOsProcess).build());
    }

    /** {@code req} asked of each of {@code nodes} at once. */
    public static Listing list(ProcessSpace space, List<String> nodes, ListRequest req) {
        var answers = Fanout.ask(space, nodes, (ch, timeout) -> ProcsGrpc.newBlockingStub(ch)
            .withDeadlineAfter(timeout, TimeUnit.MILLISECONDS).list(req).getProcsList());
        List<ProcInfo> procs = new ArrayList<>();
        List<String> unreachable = new ArrayList<>();
        for (var a : answers) {
            if (a.ok()) {
                procs.addAll(a.value());
            } else {
                unreachable.add(a.node() + " (" + a.error() + ")");
            }
        }
        return new Listing(procs, unreachable);
    }

    /** Where each of these GPIDs (valid ones: see {@link #checkGpid}) runs. */
    public static Located locate(ProcessSpace space, Collection<String> gpids) {
        Map<String, String> found = new HashMap<>();
        Map<String, List<String>> byHome = new LinkedHashMap<>();
        List<String> unknown = new ArrayList<>();
        for (String g : gpids) {
            Gpid id = Gpid.parse(g);
            if (id.home() == space.selfId()) {
                String node = space.placements().node(id.seq());
                if (node != null) {
                    found.put(g, node);
                } else {
                    unknown.add(g);
                }
                continue;
            }
            String home = space.nodeName(id.home());
            if (home == null) {
                unknown.add(g); // its home node is down: only a listing can find it
            } else {
                byHome.computeIfAbsent(home, k -> new ArrayList<>()).add(g);
            }
        }
        if (!byHome.isEmpty()) {
            var answers = Fanout.ask(space, byHome.keySet(), (node, ch, timeout) -> ProcsGrpc.newBlockingStub(ch)
                .withDeadlineAfter(timeout, TimeUnit.MILLISECONDS)
                .locate(LocateRequest.newBuilder().addAllGpids(byHome.get(node)).build()).getNodesList());
            for (var a : answers) {
                List<String> asked = byHome.get(a.node());
                for (int i = 0; i < asked.size(); i++) {
                    String node = a.ok() && i < a.value().size() ? a.value().get(i) : "";
                    if (node.isEmpty()) {
                        unknown.add(asked.get(i));
                    } else {
                        found.put(asked.get(i), node);
                    }
                }
            }
        }
        List<String> unreachable = new ArrayList<>();
        if (!unknown.isEmpty()) {
            Listing l = list(space, space.members(),
                ListRequest.newBuilder().addAllGpids(unknown).setRecordsOnly(true).build());
            for (ProcInfo p : l.procs()) {
                found.put(p.getGpid(), p.getNode());
            }
            unreachable.addAll(l.unreachable());
        }
        return new Located(found, unreachable);
    }

    /**
     * The process with this GPID, wherever it runs: its record (node, user, state running or
     * exited, exit code, detached), without resource figures.
     */
    public static ProcInfo find(ProcessSpace space, String gpid) throws GestaltException {
        checkGpid(gpid);
        Located l = locate(space, List.of(gpid));
        String node = l.nodes().get(gpid);
        if (node != null) {
            List<ProcInfo> procs;
            try {
                procs = ProcsGrpc.newBlockingStub(space.channel(node))
                    .withDeadlineAfter(Fanout.TIMEOUT_MILLIS, TimeUnit.MILLISECONDS)
                    .list(ListRequest.newBuilder().addGpids(gpid).setRecordsOnly(true).build()).getProcsList();
            } catch (RuntimeException e) {
                throw GestaltException.fromStatus(e, node);
            }
            if (!procs.isEmpty()) {
                return procs.getFirst();
            }
        }
        throw missing(space, gpid, l.unreachable());
    }

    /**
     * Where a process runs that {@code gone} no longer has (it moved meanwhile): asked again of
     * its home node for up to two seconds, as the home node learns of a move just after it.
     *
     * @throws GestaltException.NotFound when it is nowhere else (it ended, and its record went)
     */
    public static String findAfterMove(ProcessSpace space, String gpid, String gone) throws GestaltException {
        GestaltException last = null;
        for (int i = 0; i < 20; i++) {
            try {
                ProcInfo p = find(space, gpid);
                if (!p.getNode().equals(gone)) {
                    return p.getNode();
                }
            } catch (GestaltException.NotFound e) {
                last = e;
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        throw last != null ? last : new GestaltException.NotFound(gpid + ": no such process");
    }

    /**
     * Why a GPID was not found, for a caller that asked every node it could: its home node is
     * down (it left the view, or it is still in it but did not answer: just killed), or a node
     * that may have it did not answer (both {@link GestaltException.NodeLost}: wait exits 255),
     * else there is no such process.
     *
     * @param unreachable the nodes that did not answer, each as "NAME (why)"
     */
    public static GestaltException missing(ProcessSpace space, String gpid, List<String> unreachable) {
        int homeId = Gpid.parse(gpid).home();
        String home = space.departed(homeId);
        if (home == null) {
            String name = space.nameOf(homeId);
            boolean silent = name != null && unreachable.stream().anyMatch(u -> u.startsWith(name + " ("));
            home = silent ? name : null; // killed, not yet out of the view: its silence says the same
        }
        if (home != null) {
            return new GestaltException.NodeLost(gpid + ": its home node " + home + " is down");
        }
        if (!unreachable.isEmpty()) {
            return new GestaltException.NodeLost(gpid + ": not on the nodes that answered (not answering: "
                + String.join(", ", unreachable) + ")");
        }
        return new GestaltException.NotFound(gpid + ": no such process");
    }

    /** A GPID as the user typed it, or a one-line error. */
    public static void checkGpid(String gpid) throws GestaltException.BadRequest {
        try {
            Gpid.parse(gpid);
        } catch (IllegalArgumentException e) {
            throw new GestaltException.BadRequest(e.getMessage());
        }
    }

    /** The caller as the kernel reported it, for the execution node's permission checks. */
    public static Caller caller(ClientSession s) {
        return Caller.newBuilder().setUid(s.caller().uid()).setGid(s.caller().gid()).setUser(s.caller().user()).build();
    }
}

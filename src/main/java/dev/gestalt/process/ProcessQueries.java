package dev.gestalt.process;

import dev.gestalt.rpc.GestaltException;
import dev.gestalt.rpc.local.ClientSession;
import dev.gestalt.rpc.proto.Caller;
import dev.gestalt.rpc.proto.ListRequest;
import dev.gestalt.rpc.proto.ProcInfo;
import dev.gestalt.rpc.proto.ProcsGrpc;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Cluster-wide process look-ups shared by ps, kill, wait, logs and attach. */
public final class ProcessQueries {

    private ProcessQueries() {}

    /** Every node's processes; nodes that did not answer are named in {@code unreachable}. */
    public record Listing(List<ProcInfo> procs, List<String> unreachable) {}

    public static Listing list(ProcessSpace space, boolean everyOsProcess) {
        return list(space, everyOsProcess, false);
    }

    /** @param ended also every ended job the nodes keep on record ({@code ps --all}) */
    public static Listing list(ProcessSpace space, boolean everyOsProcess, boolean ended) {
        var answers = Fanout.ask(space, space.members(), (ch, timeout) -> ProcsGrpc.newBlockingStub(ch)
            .withDeadlineAfter(timeout, TimeUnit.MILLISECONDS)
            .list(ListRequest.newBuilder().setAllOsProcesses(everyOsProcess).setEnded(ended).build()).getProcsList());
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

    /**
     * The process with this GPID, wherever it runs.
     *
     * @throws GestaltException.NotFound when no node has it
     * @throws GestaltException.NodeLost when the node that may have it cannot say: its home node
     *     is down, or a node did not answer
     */
    public static ProcInfo find(ProcessSpace space, String gpid) throws GestaltException {
        Gpid id;
        try {
            id = Gpid.parse(gpid);
        } catch (IllegalArgumentException e) {
            throw new GestaltException.BadRequest(e.getMessage());
        }
        Listing l = list(space, false);
        for (ProcInfo p : l.procs()) {
            if (p.getGpid().equals(gpid)) {
                return p;
            }
        }
        String home = space.departed(id.home());
        if (home == null) {
            String name = space.nameOf(id.home());
            boolean silent = name != null && l.unreachable().stream().anyMatch(u -> u.startsWith(name + " ("));
            home = silent ? name : null; // killed, not yet out of the view: its silence says the same
        }
        if (home != null) {
            throw new GestaltException.NodeLost(gpid + ": its home node " + home + " is down");
        }
        if (!l.unreachable().isEmpty()) {
            throw new GestaltException.NodeLost(gpid + ": not on the nodes that answered (not answering: "
                + String.join(", ", l.unreachable()) + ")");
        }
        throw new GestaltException.NotFound(gpid + ": no such process");
    }

    /** The caller as the kernel reported it, for the execution node's permission checks. */
    public static Caller caller(ClientSession s) {
        return Caller.newBuilder().setUid(s.caller().uid()).setGid(s.caller().gid()).setUser(s.caller().user()).build();
    }
}

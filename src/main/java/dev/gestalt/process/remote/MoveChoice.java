package dev.gestalt.process.remote;

import dev.gestalt.cluster.LoadEntry;
import dev.gestalt.cluster.Migration;
import dev.gestalt.process.ProcessSpace;
import dev.gestalt.process.placement.PlacementRequest;
import dev.gestalt.rpc.GestaltException;
import dev.gestalt.rpc.proto.MoveRequest;
import java.util.List;
import java.util.function.Supplier;

/**
 * Where a process moves from this node, and how: the node asked for or the placement policy's
 * pick, then post-copy or stop-and-copy ({@link MigrateService}). What makes the move impossible
 * there is added to the move's blockers; a request that names no possible target at all fails.
 */
final class MoveChoice {

    static final String POST_COPY = "post-copy";
    static final String STOP_AND_COPY = "stop-and-copy";
    /**
     * Below this much memory, stop-and-copy by default: carrying it whole costs no more downtime
     * than post-copy's own start (measured: ~0.2 s either way for a small process), and the
     * process does not need its old node once it runs on the new one.
     */
    static final long POST_COPY_FROM = 16L << 20;
    /**
     * Stop-and-copy of this much memory or more goes through the target's CRIU page server
     * (Restores#receivePages); below it, starting one costs more than carrying the pages here.
     */
    static final long PAGE_SERVER_FROM = 16L << 20;

    private final String nodeName;
    private final Supplier<ProcessSpace> space;

    MoveChoice(String nodeName, Supplier<ProcessSpace> space) {
        this.nodeName = nodeName;
        this.space = space;
    }

    /** The node to move to: the one asked for, else the placement policy's pick among the others. */
    String target(MoveRequest req, List<String> blockers) throws GestaltException {
        String asked = req.getTarget();
        ProcessSpace s = space.get();
        String target;
        if (!asked.isEmpty()) {
            target = s.member(asked);
            if (target == null) {
                throw new GestaltException.NotFound("no node " + asked + " in the cluster");
            }
            if (target.equals(nodeName)) {
                throw new GestaltException.BadRequest(req.getGpid() + " runs on " + nodeName + " already");
            }
        } else {
            target = s.place(PlacementRequest.ANY.avoiding(java.util.Set.of(nodeName))).node();
            if (target.equals(nodeName)) {
                throw new GestaltException.NoEligibleNode("no other node to move to");
            }
        }
        Migration m = migrationOf(target);
        if (!m.available()) {
            blockers.add(target + " cannot take processes: " + m.detail());
        }
        return target;
    }

    /**
     * How it moves: post-copy where both nodes can (the process runs on the target at once, and
     * pulls its memory from here as it touches it) and it has {@link #POST_COPY_FROM} of memory
     * or more, else stop-and-copy; or the method asked for.
     */
    String method(MoveRequest req, Migration here, String target, List<String> blockers, long memory)
            throws GestaltException {
        Migration there = migrationOf(target);
        boolean postCopy = here.postCopy() && there.postCopy();
        return switch (req.getMethod()) {
            case "" -> postCopy && memory >= POST_COPY_FROM ? POST_COPY : STOP_AND_COPY;
            case STOP_AND_COPY -> STOP_AND_COPY;
            case POST_COPY -> {
                if (!postCopy) {
                    Migration without = here.postCopy() ? there : here;
                    blockers.add("post-copy is not available on " + (here.postCopy() ? target : nodeName) + " ("
                        + without.detail() + ")");
                }
                yield POST_COPY;
            }
            default -> throw new GestaltException.BadRequest("no method '" + req.getMethod() + "' (post-copy or stop-and-copy)");
        };
    }

    /** Whether stop-and-copy of this much memory sends it to the target's page server as it is dumped. */
    static boolean throughPageServer(String method, long memory) {
        return method.equals(STOP_AND_COPY) && memory >= PAGE_SERVER_FROM;
    }

    private Migration migrationOf(String node) {
        LoadEntry e = space.get().membership().loadTable().get(node);
        return e == null ? Migration.UNKNOWN : e.report().migration();
    }
}

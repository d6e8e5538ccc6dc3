package dev.gestalt.process.placement;

import dev.gestalt.rpc.GestaltException;

/**
 * Where a process's working directory is: placement asks it before sending a process to a node,
 * so a process never lands on a node that lacks its working directory (a confusing error from
 * the far side) when another node has it. The file space implements it; without one every
 * node is taken to have every folder.
 */
public interface WorkingDirectories {

    WorkingDirectories ANYWHERE = (placement, request, cwd, uid, gid, groups, again) -> placement;

    /** Places again with extra constraints. */
    interface Placer {
        Placement place(PlacementRequest request) throws GestaltException.NoEligibleNode;
    }

    /**
     * The placement to use for a process with this working directory: {@code placement} if its
     * node has it, else one on a node that has it.
     *
     * @throws GestaltException.NoEligibleNode naming the folder when no eligible node has it
     */
    Placement check(Placement placement, PlacementRequest request, String cwd, int uid, int gid, int[] groups, Placer again)
        throws GestaltException.NoEligibleNode;

    /**
     * Whether a process with this working directory needs {@link #check} at all: false when every
     * node has it (inside the file space), or when there is nothing to check.
     */
    default boolean needsCheck(String cwd) {
        return false;
    }

    /**
     * On the execution node: whether this node lacks the folder for this user (what a node asked
     * by {@link #check} answers), checked as a run from another node starts instead of by one more
     * round trip before it.
     */
    interface Here {
        Here EVERYWHERE = (cwd, uid, gid, groups) -> false;

        boolean absent(String cwd, int uid, int gid, int[] groups);
    }
}

package dev.gestalt.cluster;

import java.util.Set;

/**
 * Told of every view change, in order, on one thread of its own (never a JGroups thread).
 * The first call carries the view this node joined, with every member in {@code joined}.
 */
@FunctionalInterface
public interface MembershipListener {

    /** A listener that ignores views. */
    MembershipListener NONE = (members, joined, left) -> {};

    /**
     * @param members the node names of the new view
     * @param joined names in this view that were not in the previous one
     * @param left names of the previous view that are not in this one (left, crashed or partitioned away)
     */
    void onView(Set<String> members, Set<String> joined, Set<String> left);

    /**
     * This node must leave: another node with its name or id is in the group it tried to merge
     * with ({@link UniqueMembers}). The default does nothing; the node daemon stops.
     */
    default void onRefused(String reason) {}
}

package dev.gestalt.process.placement;

/**
 * Constraints of one placement.
 *
 * @param pinned   a node name or id given with {@code -n}, or null
 * @param minCpus  the node must have at least this many CPUs (0: any)
 * @param minMem   the node must have at least this much free memory (0: any)
 * @param avoid    nodes to use only when no other is eligible (where a task just failed)
 */
public record PlacementRequest(String pinned, int minCpus, long minMem, java.util.Set<String> avoid) {
    public static final PlacementRequest ANY = new PlacementRequest(null, 0, 0, java.util.Set.of());

    public PlacementRequest(String pinned, int minCpus, long minMem) {
        this(pinned, minCpus, minMem, java.util.Set.of());
    }

    public PlacementRequest avoiding(java.util.Set<String> nodes) {
        return new PlacementRequest(pinned, minCpus, minMem, nodes);
    }
}

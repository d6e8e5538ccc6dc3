package dev.gestalt.process.placement;

/**
 * What placement knows of one live node: the last gossiped reading and its age.
 *
 * @param load      CPUs' worth of work the node runs (smoothed)
 * @param ageMillis how old the reading is
 * @param draining  the node is drained ({@code gestalt drain}): nothing new is placed there
 */
public record NodeLoad(String node, int id, int cpus, double load, long memFreeBytes, long memTotalBytes,
                       int processes, long reportedAtMillis, long ageMillis, boolean draining) {

    public NodeLoad(String node, int id, int cpus, double load, long memFreeBytes, long memTotalBytes,
                    int processes, long reportedAtMillis, long ageMillis) {
        this(node, id, cpus, load, memFreeBytes, memTotalBytes, processes, reportedAtMillis, ageMillis, false);
    }
}

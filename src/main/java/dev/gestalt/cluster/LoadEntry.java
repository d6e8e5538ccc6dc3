package dev.gestalt.cluster;

import java.time.Duration;

/**
 * One row of the load table.
 *
 * @param report the latest report received from the node
 * @param age how long ago, by this node's clock, that report arrived
 * @param inView whether the node is in the current view; a node that left stays in the table,
 *               not in view, until it rejoins, so that it can be shown as down
 */
public record LoadEntry(LoadReport report, Duration age, boolean inView) {}

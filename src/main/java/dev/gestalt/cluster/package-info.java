/**
 * The cluster space: which nodes are members, and how loaded each one is.
 *
 * <p>{@link dev.gestalt.cluster.Membership} runs one JGroups channel per node over TCP with
 * mutual TLS from the cluster CA (Solaris MC's cluster membership monitor, at user level):
 * members join through seed addresses, failures are detected by heartbeats and sockets,
 * partitions merge back; a frozen member never holds up the others' traffic
 * ({@link dev.gestalt.cluster.ChannelStack}). A member is who its certificate says: every
 * message is checked against the certificate of its connection, and no name or id is in a view
 * twice. Over the same channel every member gossips a
 * {@link dev.gestalt.cluster.LoadReport} at a fixed interval, and every member keeps the
 * latest report of each node: the MOSIX bulletin board that placement reads.
 */
package dev.gestalt.cluster;

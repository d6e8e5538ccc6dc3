/**
 * The file space: one file tree at the same path on every node. MooseFS deployed and kept
 * alive by the nodes (a chunkserver on each, one master and two metaloggers placed and failed
 * over by a Raft-replicated decision), mounted at {@code /gestalt}; or an admin's own shared
 * file system ("bring your own"); and {@code gestalt fs status}.
 */
package dev.gestalt.files;

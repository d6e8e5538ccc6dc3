package dev.gestalt.files;

import dev.gestalt.process.placement.Placement;
import dev.gestalt.process.placement.PlacementRequest;
import dev.gestalt.process.placement.WorkingDirectories;
import dev.gestalt.rpc.GestaltException;
import dev.gestalt.rpc.proto.FilesGrpc;
import dev.gestalt.rpc.proto.FolderQuery;
import io.grpc.ManagedChannel;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Placement by working directory. A folder inside the file space is on every node: nothing to
 * ask. Any other folder is asked of the chosen node (one RPC; this node answers itself); if it
 * lacks the folder, every live node is asked and the process is placed again among those that
 * have it, or refused, naming the folder, if none does (exit 255, as for any placement that
 * finds no node). A process pinned with {@code -n} to a node without the folder is refused.
 * Only a node's answer "the folder is not there" excludes it: one that does not answer in time
 * is not excluded, nor one where a folder on the way is closed to the user (whether the folder
 * is there is not theirs to learn: the process's own cd refuses it, as bash's, exit 1).
 */
public final class FolderPlacement implements WorkingDirectories {

    /** Opens a channel to a node. */
    public interface Channels {
        ManagedChannel channel(String node) throws GestaltException.NodeLost;
    }

    private final String self;
    private final Path tree;
    private final Channels channels;
    private final Supplier<List<String>> liveNodes;

    /**
     * @param tree the file space's path, or null if there is none
     */
    public FolderPlacement(String self, Path tree, Channels channels, Supplier<List<String>> liveNodes) {
        this.self = self;
        this.tree = tree;
        this.channels = channels;
        this.liveNodes = liveNodes;
    }

    @Override
    public Placement check(Placement placement, PlacementRequest request, String cwd, int uid, int gid, int[] groups,
                           Placer again) throws GestaltException.NoEligibleNode {
        if (!needsCheck(cwd)) {
            return placement;
        }
        if (!lacks(placement.node(), cwd, uid, gid, groups)) {
            return placement;
        }
        if (request.pinned() != null) {
            throw new GestaltException.NoEligibleNode(placement.node() + " has no folder " + cwd + " (the working directory)");
        }
        Set<String> lacking = new HashSet<>();
        for (String n : liveNodes.get()) {
            if (lacks(n, cwd, uid, gid, groups)) {
                lacking.add(n);
            }
        }
        Set<String> avoid = new HashSet<>(request.avoid());
        avoid.addAll(lacking);
        Placement other = again.place(request.avoiding(avoid));
        if (lacking.contains(other.node()) && !request.avoid().isEmpty()) {
            // every node with the folder is one to avoid (forall's retry): it still beats one without
            other = again.place(request.avoiding(lacking));
        }
        if (lacking.contains(other.node())) {
            throw new GestaltException.NoEligibleNode("no node has the working directory " + cwd);
        }
        return other;
    }

    @Override
    public boolean needsCheck(String cwd) {
        return cwd != null && !cwd.isEmpty() && !(tree != null && Path.of(cwd).normalize().startsWith(tree));
    }

    /** {@link WorkingDirectories.Here} on this node: the folder is not there for this user (ENOENT, not EACCES). */
    public static boolean absent(String cwd, int uid, int gid, int[] groups) {
        return Folders.access(cwd, uid, gid, groups) == Folders.Access.ABSENT;
    }

    /** Whether {@code node} says the folder is not there for this user (ENOENT, not EACCES). */
    private boolean lacks(String node, String cwd, int uid, int gid, int[] groups) {
        if (node.equals(self)) {
            return absent(cwd, uid, gid, groups);
        }
        var q = FolderQuery.newBuilder().setPath(cwd).setUid(uid).setGid(gid);
        for (int g : groups) {
            q.addGroups(g);
        }
        try {
            var a = FilesGrpc.newBlockingStub(channels.channel(node)).withDeadlineAfter(10, TimeUnit.SECONDS)
                .canEnter(q.build());
            return !a.getCanEnter() && !a.getDenied();
        } catch (GestaltException.NodeLost | RuntimeException e) {
            // no answer is not a "no": the process goes there, and a node that is really gone says so
            return false;
        }
    }
}

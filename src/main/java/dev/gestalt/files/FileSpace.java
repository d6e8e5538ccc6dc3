package dev.gestalt.files;

import dev.gestalt.cluster.ChannelAddOn;
import dev.gestalt.cluster.Membership;
import java.nio.file.Path;
import java.util.List;

/**
 * This node's part of the file space, whichever engine provides it. The daemon creates it
 * from the config, puts its {@linkplain #addOns() add-ons} on the channel, {@linkplain #start
 * starts} it once the node is in the cluster and closes it when the node stops.
 */
public interface FileSpace extends AutoCloseable {

    /** What it adds to the node's channel (Raft for MooseFS). */
    List<ChannelAddOn> addOns();

    /** Starts serving; returns at once (mounting may take a few seconds more). */
    void start(Membership membership) throws Exception;

    /** The tree's path on this node. */
    Path mount();

    /** The tree's path if this node has a file space (a folder there is on every node). */
    default java.util.Optional<Path> tree() {
        return java.util.Optional.of(mount());
    }

    /**
     * A secret the cluster's nodes share through the file space's own consensus, once decided
     * (Gestalt's checkpoint key is derived from it); empty for a file space Gestalt does not run.
     */
    default java.util.Optional<String> secret() {
        return java.util.Optional.empty();
    }

    /** This node's view of the file space, for {@code gestalt fs status}. */
    FsStatus status();

    @Override
    void close();

    /** The file space a config asks for; {@code root} whether the daemon runs as root. */
    static FileSpace of(FilesConfig cfg, String node, String cluster, String bind, Path stateDir, boolean root) {
        return switch (cfg.engine()) {
            case NONE -> new NoFileSpace(cfg.mount(), "the node's config says files.engine = none");
            case SHARED -> new SharedFileSpace(cfg.mount(), node);
            case MOOSEFS -> root && MooseFsSpace.installed()
                ? new MooseFsSpace(cfg, node, cluster, bind, stateDir)
                : new NoFileSpace(cfg.mount(), root ? "MooseFS is not installed (scripts/install-deps installs it)"
                    : "the node does not run as root (a non-root local cluster has no file space)");
        };
    }
}

package dev.gestalt.files;

import dev.gestalt.cluster.ChannelAddOn;
import dev.gestalt.cluster.Membership;
import java.nio.file.Path;
import java.util.List;

/** A node without a file space, and why (non-root local cluster, engine not installed, switched off). */
final class NoFileSpace implements FileSpace {

    private final Path mount;
    private final String reason;

    NoFileSpace(Path mount, String reason) {
        this.mount = mount;
        this.reason = reason;
    }

    @Override
    public List<ChannelAddOn> addOns() {
        return List.of();
    }

    @Override
    public void start(Membership membership) {
        // nothing to run
    }

    @Override
    public Path mount() {
        return mount;
    }

    @Override
    public java.util.Optional<Path> tree() {
        return java.util.Optional.empty();
    }

    @Override
    public FsStatus status() {
        return FsStatus.none(reason);
    }

    @Override
    public void close() {
        // nothing runs
    }
}

package dev.gestalt.files;

import dev.gestalt.cluster.ChannelAddOn;
import dev.gestalt.cluster.Membership;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.UUID;
import java.util.logging.Logger;

/**
 * Bring your own: the admin's shared file system (NFS, CephFS, Lustre...) mounted at the same
 * path on every node. At start each node writes a marker, {@code PATH/.gestalt/nodes/NODE};
 * {@code fs status} on any node lists the members whose marker it cannot see: they wrote
 * theirs into another tree (a local folder, another export). The node does not mount
 * anything: the admin does.
 */
final class SharedFileSpace implements FileSpace {

    private static final Logger LOG = Logger.getLogger(SharedFileSpace.class.getName());

    private final Path path;
    private final String node;
    private volatile Membership membership;
    private volatile String problem = "";

    SharedFileSpace(Path path, String node) {
        this.path = path;
        this.node = node;
    }

    Path marker(String name) {
        return path.resolve(".gestalt").resolve("nodes").resolve(name);
    }

    @Override
    public List<ChannelAddOn> addOns() {
        return List.of();
    }

    @Override
    public void start(Membership m) {
        this.membership = m;
        try {
            if (!Files.isDirectory(path)) {
                throw new IOException(path + " is not a folder");
            }
            Path marker = marker(node);
            Files.createDirectories(marker.getParent());
            Files.writeString(marker, UUID.randomUUID() + "\n");
        } catch (IOException e) {
            problem = "cannot write this node's marker in " + path + ": " + e.getMessage();
            LOG.warning("file space: " + problem);
        }
    }

    @Override
    public Path mount() {
        return path;
    }

    @Override
    public FsStatus status() {
        var names = new TreeSet<>(membership == null ? List.of() : membership.view());
        names.add(node);
        List<FsStatus.Node> rows = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        for (String n : names) {
            boolean seen = Files.isRegularFile(marker(n));
            if (!seen) {
                missing.add(n);
            }
            rows.add(new FsStatus.Node(n, "", List.of(), seen, -1, -1));
        }
        String health = problem.isEmpty() && missing.isEmpty() ? "ok" : "degraded";
        String detail = !problem.isEmpty() ? problem
            : missing.isEmpty() ? "" : "does not see the same tree as " + node + ": " + String.join(", ", missing);
        return new FsStatus("shared", "", path.toString(), health, detail, "", List.of(), 0, 0, -1, -1, rows);
    }

    @Override
    public void close() {
        // the admin's file system stays as it is
    }
}

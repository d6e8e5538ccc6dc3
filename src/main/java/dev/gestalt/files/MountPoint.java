package dev.gestalt.files;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.logging.Logger;

/**
 * The file space's mount point on this node, read from {@code /proc/self/mountinfo}: whether
 * something is mounted there and what, a stale mount left by a crashed node removed (a FUSE
 * mount whose daemon died answers ENOTCONN until it is unmounted), a clean unmount at stop
 * (lazy if a process still has files open there, so the node never hangs on it).
 */
final class MountPoint {

    private static final Logger LOG = Logger.getLogger(MountPoint.class.getName());

    private final Path path;

    MountPoint(Path path) {
        this.path = path;
    }

    Path path() {
        return path;
    }

    /** The file system type mounted at this path ({@code fuse.mfs}, {@code nfs4}...), if any. */
    Optional<String> mountedType() {
        try {
            return fsTypeAt(Files.readAllLines(Path.of("/proc/self/mountinfo")), path.toString());
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** The type of the topmost mount at {@code mountPoint} in mountinfo lines. */
    static Optional<String> fsTypeAt(List<String> mountinfo, String mountPoint) {
        String type = null;
        for (String line : mountinfo) {
            String[] f = line.split(" ");
            if (f.length < 10 || !unescape(f[4]).equals(mountPoint)) {
                continue;
            }
            for (int i = 6; i < f.length - 1; i++) {
                if (f[i].equals("-")) {
                    type = f[i + 1];
                    break;
                }
            }
        }
        return Optional.ofNullable(type);
    }

    private static String unescape(String s) {
        return s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\");
    }

    /** Creates the folder if needed and removes whatever is mounted there (a stale mount of an earlier run). */
    void prepare() throws IOException {
        for (int i = 0; i < 5 && mountedType().isPresent(); i++) {
            LOG.info("file space: removing a stale mount (" + mountedType().get() + ") at " + path);
            EngineProcess.run("umount", "-l", path.toString());
        }
        if (!Files.isDirectory(path)) {
            Files.createDirectories(path);
        }
    }

    /** Unmounts (lazily if it is busy). */
    void unmount() {
        if (mountedType().isEmpty()) {
            return;
        }
        if (!EngineProcess.run(List.of("umount", path.toString()), java.time.Duration.ofSeconds(5)).ok()) {
            EngineProcess.run("umount", "-l", path.toString());
        }
    }
}

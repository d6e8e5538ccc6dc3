package dev.gestalt.files;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.logging.Logger;
import java.util.stream.Stream;

/**
 * Starts this node's master for an epoch, from the right metadata:
 * <ul>
 *   <li>the master folder already belongs to this epoch (this node was master and its
 *       mfsmaster died, or the node restarted): as it is, with {@code -a} (a master that
 *       crashed left only a backup and changelogs, which {@code -a} replays);</li>
 *   <li>epoch 1 and no metadata: a new, empty file system;</li>
 *   <li>otherwise a promotion: the metalogger stops, its folder (metadata backup and
 *       changelogs streamed from the old master) becomes the master's, the old master
 *       folder is kept aside as {@code master.epoch-N}, and {@code mfsmaster -a} rebuilds
 *       the metadata; then it is restarted once cleanly so that it saves a metadata file,
 *       without which new metaloggers cannot download from it (shared FILES-NOTES).</li>
 * </ul>
 * Metaloggers receive changes asynchronously: the last changes before a master's death can
 * be missing from the copy (none were in the measurements here; over a real network a few may).
 */
final class MasterPromotion {

    private static final Logger LOG = Logger.getLogger(MasterPromotion.class.getName());

    private final MooseFsLayout layout;
    private final EngineProcess master;
    private final EngineProcess metalogger;
    private final String bind;
    private final int port;

    MasterPromotion(MooseFsLayout layout, EngineProcess master, EngineProcess metalogger, String bind, int port) {
        this.layout = layout;
        this.master = master;
        this.metalogger = metalogger;
        this.bind = bind;
        this.port = port;
    }

    void ensure(long epoch) throws IOException {
        if (master.running()) {
            return;
        }
        boolean promoted = false;
        if (dataEpoch() != epoch) {
            if (epoch == 1 && !hasMetadata(layout.master())) {
                LOG.info("file space: creating a new file system (epoch 1)");
                Path md = layout.master().resolve("metadata.mfs");
                Files.copy(MooseFsLayout.EMPTY_METADATA, md, StandardCopyOption.REPLACE_EXISTING);
                MooseFsLayout.own(md, MooseFsLayout.USER, MooseFsLayout.USER);
            } else {
                promote(epoch);
                promoted = true;
            }
            Files.writeString(layout.masterEpoch(), Long.toString(epoch));
        }
        master.ensureRunning(command());
        if (promoted) {
            if (awaitListening(Duration.ofSeconds(60))) {
                master.stop(Duration.ofSeconds(30));
                master.ensureRunning(command());
                LOG.info("file space: promoted master restarted with its metadata saved");
            } else {
                LOG.warning("file space: the promoted master did not start; see " + layout.run().resolve("mfsmaster.log"));
            }
        }
    }

    private List<String> command() {
        return List.of(MooseFsSpace.MFSMASTER.toString(), "-f", "-a", "-c", layout.masterCfg().toString());
    }

    private long dataEpoch() {
        try {
            return Long.parseLong(Files.readString(layout.masterEpoch()).trim());
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
    }

    private static boolean hasMetadata(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.anyMatch(p -> p.getFileName().toString().startsWith("metadata") || p.getFileName().toString().startsWith("changelog"));
        }
    }

    private void promote(long epoch) throws IOException {
        LOG.info("file space: promoting this node's metalogger copy to master (epoch " + epoch + ")");
        metalogger.stop(Duration.ofSeconds(10));
        if (!hasMetadata(layout.metalogger())) {
            throw new IOException("this node was appointed master (epoch " + epoch + ") but its metalogger has no copy of the metadata");
        }
        Path old = layout.root().resolve("master.epoch-" + dataEpoch());
        deleteTree(old);
        Files.move(layout.master(), old);
        Files.createDirectories(layout.master());
        MooseFsLayout.own(layout.master(), MooseFsLayout.USER, MooseFsLayout.USER);
        Files.setPosixFilePermissions(layout.master(), java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-x---"));
        try (Stream<Path> s = Files.list(layout.metalogger())) {
            for (Path f : s.filter(Files::isRegularFile).toList()) {
                Path to = layout.master().resolve(f.getFileName());
                Files.copy(f, to, StandardCopyOption.COPY_ATTRIBUTES);
                MooseFsLayout.own(to, MooseFsLayout.USER, MooseFsLayout.USER);
            }
        }
        // the old master's data is of no use once another epoch's master exists: keep only the last one
        try (Stream<Path> s = Files.list(layout.root())) {
            for (Path p : s.filter(p -> p.getFileName().toString().startsWith("master.epoch-") && !p.equals(old)).toList()) {
                deleteTree(p);
            }
        }
    }

    private boolean awaitListening(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline && master.running()) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(bind, port + 2), 500);
                return true;
            } catch (IOException e) {
                try {
                    Thread.sleep(200);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
        }
        return false;
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}

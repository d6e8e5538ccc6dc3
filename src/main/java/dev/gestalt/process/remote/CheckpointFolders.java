package dev.gestalt.process.remote;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.logging.Logger;

/**
 * The folders a move's checkpoint passes through, on the source and on the target:
 * STATE_DIR/migrate/{out,in}-GPID-*, root's only (0700), deleted once used (they hold the
 * process's memory); CRIU's log of the last failure kept there for the admin.
 */
final class CheckpointFolders {
    private static final Logger LOG = Logger.getLogger(CheckpointFolders.class.getName());

    private final Path work;

    CheckpointFolders(Path stateDir) {
        this.work = stateDir.resolve("migrate");
    }

    /** A new folder of root's only (0700) under STATE/migrate for one checkpoint. */
    Path create(String prefix) throws IOException {
        Files.createDirectories(work, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        return Files.createTempDirectory(work, prefix + "-",
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    }

    /** CRIU's log of a failed dump or restore, kept as STATE/migrate/last-failure-LOG (restore.log, dump.log, lazy-pages.log) for the admin. */
    void keepLog(Path dir, String log) {
        try {
            Files.move(dir.resolve(log), work.resolve("last-failure-" + log), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            // kept or not, the reason went to the user
        }
    }

    /** Deletes a checkpoint's folder: the process's memory, nothing of which stays. */
    static void delete(Path dir) {
        if (dir == null) {
            return;
        }
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                Files.deleteIfExists(f);
            }
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            LOG.warning("cannot delete " + dir + ": " + e.getMessage());
        }
    }

    static long size(Path dir) throws IOException {
        return size(dir, "*");
    }

    /** The bytes of the files in {@code dir} whose names match {@code glob}. */
    static long size(Path dir, String glob) throws IOException {
        long n = 0;
        try (var files = Files.newDirectoryStream(dir, glob)) {
            for (Path f : files) {
                n += Files.size(f);
            }
        }
        return n;
    }
}

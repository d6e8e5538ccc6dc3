package dev.gestalt.process.forall;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.util.UUID;

/**
 * What one node holds, for all its foralls together, of task output that may not be printed
 * yet (another task's output is being printed, or an earlier one's with {@code -k}): up to
 * {@link #MEMORY} in memory, at most {@link #PER_TASK} of it for one task, then up to
 * {@link #SPILL} in spill files. Beyond both a task waits (its process is slowed by the pipe)
 * until its turn to print comes, when it streams: a node's memory does not grow with its
 * users' output.
 *
 * <p>Spill files are the daemon's, in a folder only root may enter ({@code STATE/spill},
 * 0700), each created 0600 without following links and unlinked at once: nobody else can open
 * one, and none outlives its forall, even one the daemon does not survive.
 */
final class OutputBudget {

    static final long MEMORY = 64L << 20;
    static final long PER_TASK = 1L << 20;
    static final long SPILL = 4L << 30;

    private final Path spillDir;
    private final long memoryLimit;
    private final long spillLimit;
    private long memory;
    private long spill;

    OutputBudget(Path spillDir) {
        this(spillDir, MEMORY, SPILL);
    }

    OutputBudget(Path spillDir, long memoryLimit, long spillLimit) {
        this.spillDir = spillDir;
        this.memoryLimit = memoryLimit;
        this.spillLimit = spillLimit;
    }

    synchronized boolean takeMemory(long n) {
        if (memory + n > memoryLimit) {
            return false;
        }
        memory += n;
        return true;
    }

    synchronized void releaseMemory(long n) {
        memory -= n;
    }

    synchronized boolean takeSpill(long n) {
        if (spill + n > spillLimit) {
            return false;
        }
        spill += n;
        return true;
    }

    synchronized void releaseSpill(long n) {
        spill -= n;
    }

    synchronized long memoryInUse() {
        return memory;
    }

    /** A new spill file, open for reading and writing, already unlinked. */
    FileChannel newSpillFile() throws IOException {
        synchronized (this) {
            if (!Files.isDirectory(spillDir, LinkOption.NOFOLLOW_LINKS)) {
                Files.createDirectories(spillDir.getParent());
                try {
                    Files.createDirectory(spillDir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
                } catch (java.nio.file.FileAlreadyExistsException e) {
                    // made meanwhile; checked below
                }
            }
            if (!Files.isDirectory(spillDir, LinkOption.NOFOLLOW_LINKS)
                || !Files.getPosixFilePermissions(spillDir, LinkOption.NOFOLLOW_LINKS).equals(PosixFilePermissions.fromString("rwx------"))) {
                throw new IOException(spillDir + " is not a folder of mode 0700");
            }
        }
        Path f = spillDir.resolve("forall-" + UUID.randomUUID());
        FileChannel ch = FileChannel.open(f, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
            StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.delete(f);
        return ch;
    }

    /** Removes spill files a crashed daemon left in the window between create and unlink. */
    void clean() {
        if (!Files.isDirectory(spillDir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (DirectoryStream<Path> left = Files.newDirectoryStream(spillDir, "forall-*")) {
            for (Path p : left) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            // best effort: they are 0600 in a 0700 folder
        }
    }
}

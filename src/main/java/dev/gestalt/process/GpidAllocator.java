package dev.gestalt.process;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Allocates GPIDs on a home node. Sequence numbers are reserved on disk in
 * blocks: a block's end is written, fsync'd and renamed into place (and the
 * folder fsync'd) before any number of it is handed out, so that a restarted
 * node, after a kill -9 or a crash of the machine, never hands out a number it
 * handed out before. A reservation that fails hands nothing out.
 */
public final class GpidAllocator {

    static final long BLOCK = 1000;

    private final int home;
    private final Path file;
    private long next;
    private long ceiling;

    public GpidAllocator(int home, Path file) throws IOException {
        this.home = home;
        this.file = file;
        long start = 1;
        if (Files.exists(file)) {
            start = Long.parseLong(Files.readString(file).trim());
        }
        next = start;
        ceiling = start;
        reserve();
    }

    public synchronized Gpid next() {
        if (next >= ceiling) {
            try {
                reserve();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot reserve GPIDs in " + file + ": " + e.getMessage(), e);
            }
        }
        return new Gpid(home, next++);
    }

    /** Makes the next block durable, and only then usable. */
    private void reserve() throws IOException {
        long end = next + BLOCK;
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ch.write(ByteBuffer.wrap(Long.toString(end).getBytes(StandardCharsets.UTF_8)));
            ch.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        try (FileChannel dir = FileChannel.open(file.toAbsolutePath().getParent(), StandardOpenOption.READ)) {
            dir.force(true); // the rename itself
        }
        ceiling = end;
    }
}

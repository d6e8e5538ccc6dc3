package dev.gestalt.process;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Allocates GPIDs on a home node. Sequence numbers are reserved on disk in
 * blocks, so that a restarted node (even after kill -9) never hands out a
 * number it handed out before.
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
                throw new UncheckedIOException(e);
            }
        }
        return new Gpid(home, next++);
    }

    private void reserve() throws IOException {
        ceiling = next + BLOCK;
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, Long.toString(ceiling), StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
}

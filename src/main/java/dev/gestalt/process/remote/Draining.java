package dev.gestalt.process.remote;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;

/**
 * Whether this node is drained ({@code gestalt drain}): it then takes no new processes, started
 * or moved here, until {@code gestalt undrain}. Kept as a file in the state folder, so that a node
 * restarted for its upgrade stays drained until the admin says otherwise.
 */
public final class Draining {
    /** A node that is never drained (tests of the services alone). */
    public static final Draining NEVER = new Draining(null, () -> {});

    private final Path file;
    private final Runnable changed;
    private volatile boolean on;

    /** @param changed run after every change (the node tells the cluster at once) */
    public Draining(Path stateDir, Runnable changed) {
        this.file = stateDir == null ? null : stateDir.resolve("draining");
        this.changed = changed;
        this.on = file != null && Files.exists(file);
    }

    public boolean on() {
        return on;
    }

    /** Drains the node (true) or opens it again (false); returns whether it was drained before. */
    public synchronized boolean set(boolean draining) {
        boolean was = on;
        if (file == null) {
            throw new IllegalStateException("this node cannot be drained");
        }
        try {
            if (draining && !was) {
                Files.writeString(file, "drained at " + Instant.now() + "\n", StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE);
                Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
            } else if (!draining) {
                Files.deleteIfExists(file);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot record the drain in " + file, e);
        }
        on = draining;
        if (was != draining) {
            changed.run();
        }
        return was;
    }

    /** The refusal a process meant for this node gets while it is drained. */
    public String refusal(String nodeName) {
        return nodeName + " is draining: it takes no new processes (gestalt undrain " + nodeName + ")";
    }
}

package dev.gestalt.process.supervisor;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The {@code gestalt-exec} binary (src/main/c/gestalt-exec.c, built by Maven into the jar),
 * copied out of the jar into the node's state folder so that it can be executed.
 *
 * <p>The copy is named after the binary's digest: a daemon started from a newer jar gets its
 * own copy, one still running keeps using the one it started with, and nothing is rewritten in
 * place while a job may be executing it.
 */
final class ExecHelper {
    static final String RESOURCE = "gestalt-exec";

    private ExecHelper() {}

    /** Copies the binary into {@code stateDir/libexec} unless there already; returns its path. */
    static Path install(Path stateDir) throws IOException {
        byte[] binary;
        try (InputStream in = ExecHelper.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IOException(RESOURCE + " is missing from the jar (built without a C compiler?"
                        + " run scripts/install-deps, then rebuild)");
            }
            binary = in.readAllBytes();
        }
        String digest;
        try {
            digest = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(binary), 0, 6);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        Path dir = stateDir.resolve("libexec");
        Path target = dir.resolve(RESOURCE + "-" + digest);
        if (Files.isExecutable(target) && Files.size(target) == binary.length) {
            return target;
        }
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, RESOURCE, ".tmp",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        try {
            Files.write(tmp, binary);
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
        return target;
    }
}

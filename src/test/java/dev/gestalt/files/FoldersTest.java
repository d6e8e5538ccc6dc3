package dev.gestalt.files;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Whether a user could enter a folder, from the mode bits of it and of every folder above it. */
class FoldersTest {

    private static final int UID = 54321;
    private static final int GID = 54321;

    @Test
    void searchPermissionIsNeededAllTheWayDown(@TempDir Path dir) throws Exception {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path open = Files.createDirectories(dir.resolve("open/inner"));
        Files.setPosixFilePermissions(dir.resolve("open"), PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path closed = Files.createDirectories(dir.resolve("closed/inner"));
        Files.setPosixFilePermissions(dir.resolve("closed"), PosixFilePermissions.fromString("rwx------"));
        Files.setPosixFilePermissions(closed, PosixFilePermissions.fromString("rwxr-xr-x"));
        // the temp folder's parents must be searchable too (/tmp is)
        assertTrue(Folders.canEnter(open.toString(), UID, GID, new int[0]));
        assertFalse(Folders.canEnter(closed.toString(), UID, GID, new int[0]), "a folder inside a 0700 one of another user");
        assertTrue(Folders.canEnter(closed.toString(), 0, 0, new int[0]), "root enters any folder that exists");
        assertFalse(Folders.canEnter(dir.resolve("absent").toString(), 0, 0, new int[0]));
        assertFalse(Folders.canEnter("relative/path", 0, 0, new int[0]));
        Files.writeString(dir.resolve("file"), "x");
        assertFalse(Folders.canEnter(dir.resolve("file").toString(), 0, 0, new int[0]), "a file is no folder");
    }

    @Test
    void theGroupBitsCountForMembersOnly(@TempDir Path dir) throws Exception {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path g = Files.createDirectory(dir.resolve("group-only"));
        Files.setPosixFilePermissions(g, PosixFilePermissions.fromString("rwxr-x---"));
        int group = (Integer) Files.getAttribute(g, "unix:gid");
        assertTrue(Folders.canEnter(g.toString(), UID, GID, new int[] {group}), "a member of the folder's group");
        assertTrue(Folders.canEnter(g.toString(), UID, group, new int[0]), "the folder's group as primary group");
        assertFalse(Folders.canEnter(g.toString(), UID, GID, new int[] {GID + 1}), "not a member");
    }
}

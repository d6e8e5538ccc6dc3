package dev.gestalt.files;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Whether a user could enter a folder on this node, decided from the mode bits of the folder
 * and of every folder above it (search permission for the user, by owner, group or other), as
 * the kernel would; root may enter any folder that exists. The node answers for a user without
 * switching to them, so it must not reveal more than that user could see: a folder inside one
 * they cannot search reads as absent.
 */
final class Folders {

    private Folders() {}

    static boolean canEnter(String path, int uid, int gid, int[] groups) {
        Path p = Path.of(path);
        if (!p.isAbsolute()) {
            return false;
        }
        try {
            if (!Files.isDirectory(p)) {
                return false;
            }
            if (uid == 0) {
                return true;
            }
            for (Path q = p; q != null; q = q.getParent()) {
                if (!searchable(q, uid, gid, groups)) {
                    return false;
                }
            }
            return true;
        } catch (IOException | SecurityException e) {
            return false;
        }
    }

    private static boolean searchable(Path dir, int uid, int gid, int[] groups) throws IOException {
        int mode = (Integer) Files.getAttribute(dir, "unix:mode");
        int owner = (Integer) Files.getAttribute(dir, "unix:uid");
        int group = (Integer) Files.getAttribute(dir, "unix:gid");
        if (owner == uid) {
            return (mode & 0100) != 0;
        }
        boolean member = group == gid;
        for (int g : groups) {
            member |= g == group;
        }
        return member ? (mode & 0010) != 0 : (mode & 0001) != 0;
    }
}

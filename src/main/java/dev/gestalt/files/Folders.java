package dev.gestalt.files;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Whether a user could enter a folder on this node, decided from the mode bits of the folder
 * and of every folder above it (search permission for the user, by owner, group or other), as
 * the kernel's path walk would; root may enter any folder that exists. The node answers for a
 * user without switching to them, so it must not reveal more than that user could see: the walk
 * looks into a folder only once the user could search it, so a folder inside one they cannot
 * search is {@link Access#DENIED}, there or not, as {@code cd} would say.
 */
final class Folders {

    /** What the user's own {@code cd} would meet: success, EACCES, or ENOENT (or ENOTDIR). */
    enum Access { ENTER, DENIED, ABSENT }

    private Folders() {}

    static boolean canEnter(String path, int uid, int gid, int[] groups) {
        return access(path, uid, gid, groups) == Access.ENTER;
    }

    static Access access(String path, int uid, int gid, int[] groups) {
        Path p = Path.of(path);
        if (!p.isAbsolute()) {
            return Access.ABSENT;
        }
        try {
            Path q = p.getRoot();
            for (int i = 0; ; i++) {
                if (uid != 0 && !searchable(q, uid, gid, groups)) {
                    return Access.DENIED;
                }
                if (i == p.getNameCount()) {
                    return Access.ENTER;
                }
                q = q.resolve(p.getName(i));
                if (!Files.isDirectory(q)) {
                    return Access.ABSENT;
                }
            }
        } catch (IOException | SecurityException e) {
            return Access.ABSENT;
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

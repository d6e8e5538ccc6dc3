package dev.gestalt.process.supervisor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Finds the program of argv[0] as bash does, for the user the job will run as, so that a
 * missing or forbidden command fails with bash's status and message before anything is spawned.
 * Only the file's own mode is checked, not the search permission of the folders above it.
 */
final class CommandResolver {
    /** bash's PATH when none is set. */
    static final String DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    private CommandResolver() {}

    /** The file that {@code name} would execute. */
    static Path resolve(String name, Map<String, String> env, Path cwd, int uid, int gid, int[] groups)
            throws LaunchException {
        if (name.contains("/")) {
            Path p = cwd.resolve(name);
            if (!Files.exists(p)) {
                throw new LaunchException(127, name + ": No such file or directory");
            }
            if (Files.isDirectory(p)) {
                throw new LaunchException(126, name + ": Is a directory");
            }
            if (!executable(p, uid, gid, groups)) {
                throw new LaunchException(126, name + ": Permission denied");
            }
            return p;
        }
        boolean forbidden = false;
        if (!name.isEmpty()) {
            for (String dir : env.getOrDefault("PATH", DEFAULT_PATH).split(":", -1)) {
                Path candidate = cwd.resolve(dir.isEmpty() ? "." : dir).resolve(name);
                if (Files.isRegularFile(candidate)) {
                    if (executable(candidate, uid, gid, groups)) {
                        return candidate;
                    }
                    forbidden = true;
                }
            }
        }
        if (forbidden) {
            throw new LaunchException(126, name + ": Permission denied");
        }
        throw new LaunchException(127, name + ": command not found");
    }

    /** Checks that {@code dir} can be the working directory of the user; bash's cd messages. */
    static void checkDirectory(Path dir, int uid, int gid, int[] groups) throws LaunchException {
        if (!Files.exists(dir)) {
            throw new LaunchException(1, "cd: " + dir + ": No such file or directory");
        }
        if (!Files.isDirectory(dir)) {
            throw new LaunchException(1, "cd: " + dir + ": Not a directory");
        }
        if (!permitted(dir, uid, gid, groups, 1, true)) {
            throw new LaunchException(1, "cd: " + dir + ": Permission denied");
        }
    }

    static boolean executable(Path file, int uid, int gid, int[] groups) {
        return permitted(file, uid, gid, groups, 1, false);
    }

    /** Whether the user has the permission {@code bit} (4 r, 2 w, 1 x) on the file. */
    private static boolean permitted(Path file, int uid, int gid, int[] groups, int bit, boolean directory) {
        Map<String, Object> a;
        try {
            a = Files.readAttributes(file, "unix:mode,uid,gid");
        } catch (IOException e) {
            return false;
        }
        int mode = (Integer) a.get("mode");
        if (uid == 0) {
            // root may search any folder and execute a file with at least one x bit
            return directory || (mode & 0111) != 0;
        }
        int shift;
        if ((Integer) a.get("uid") == uid) {
            shift = 6;
        } else if (inGroup((Integer) a.get("gid"), gid, groups)) {
            shift = 3;
        } else {
            shift = 0;
        }
        return ((mode >> shift) & bit) != 0;
    }

    private static boolean inGroup(int fileGid, int gid, int[] groups) {
        if (fileGid == gid) {
            return true;
        }
        for (int g : groups) {
            if (g == fileGid) {
                return true;
            }
        }
        return false;
    }
}

package dev.gestalt.cli;

import java.nio.file.Path;
import java.util.Map;

/**
 * Where Gestalt keeps per-user state and finds node sockets. Root's local
 * cluster is the machine's cluster: its pointer file is readable by everyone,
 * so every user's {@code gestalt} finds it.
 */
public final class Paths {

    private Paths() {}

    /** The machine-wide state folder, used by root. */
    public static final Path MACHINE_HOME = Path.of("/var/lib/gestalt");

    public static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    /** This user's state folder: GESTALT_HOME, else /var/lib/gestalt for root, else XDG state. */
    public static Path home(Map<String, String> env) {
        String h = env.get("GESTALT_HOME");
        if (h != null && !h.isEmpty()) {
            return Path.of(h);
        }
        if (isRoot()) {
            return MACHINE_HOME;
        }
        String xdg = env.get("XDG_STATE_HOME");
        Path base = xdg != null && !xdg.isEmpty() ? Path.of(xdg)
            : Path.of(System.getProperty("user.home"), ".local", "state");
        return base.resolve("gestalt");
    }

    /** The file that lists the sockets of the local cluster this user started last. */
    public static Path currentPointer(Path home) {
        return home.resolve("current");
    }
}

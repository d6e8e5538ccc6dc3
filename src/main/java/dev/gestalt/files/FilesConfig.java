package dev.gestalt.files;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Properties;

/**
 * The file space's keys in {@code node.conf}, defaults beside them.
 *
 * <pre>
 * files.engine = moosefs            # moosefs (deployed by the nodes), shared (the admin's own), none
 * files.mount  = /gestalt           # where the tree is, the same path on every node
 * files.copies = 2                  # copies of each chunk (MooseFS goal), at most the number of nodes
 * files.core   = node1,node2,node3  # the nodes that vote on the master (Raft members); default: this node
 * files.port   = 9419               # first of MooseFS's five ports: 9419 metaloggers, 9420 chunkservers,
 *                                   # 9421 clients (master), 9422 chunkserver data
 * </pre>
 *
 * @param engine what provides the tree
 * @param mount the mount point (moosefs) or the shared tree's path (shared)
 * @param copies copies wanted of each chunk
 * @param core names of the nodes that decide which node is master (a majority of them must agree)
 * @param port the first of the engine's ports
 */
public record FilesConfig(Engine engine, Path mount, int copies, List<String> core, int port) {

    public static final Path DEFAULT_MOUNT = Path.of("/gestalt");
    public static final int DEFAULT_COPIES = 2;
    public static final int DEFAULT_PORT = 9419;

    /** What provides the file tree. */
    public enum Engine { MOOSEFS, SHARED, NONE }

    public FilesConfig {
        core = List.copyOf(core);
        if (copies < 1 || copies > 9) {
            throw new IllegalArgumentException("files.copies must be 1..9, not " + copies);
        }
        if (!mount.isAbsolute()) {
            throw new IllegalArgumentException("files.mount must be an absolute path, not " + mount);
        }
        if (port < 1 || port > 65535 - 4) {
            throw new IllegalArgumentException("files.port must leave room for 5 ports, not " + port);
        }
    }

    /** MooseFS at /gestalt, 2 copies, decided by these nodes. */
    public static FilesConfig moosefs(List<String> core) {
        return new FilesConfig(Engine.MOOSEFS, DEFAULT_MOUNT, DEFAULT_COPIES, core, DEFAULT_PORT);
    }

    /** No file space (non-root local clusters). */
    public static FilesConfig none() {
        return new FilesConfig(Engine.NONE, DEFAULT_MOUNT, DEFAULT_COPIES, List.of(), DEFAULT_PORT);
    }

    public static FilesConfig load(Properties p, String nodeName) {
        String engine = p.getProperty("files.engine", "moosefs").trim().toUpperCase(Locale.ROOT);
        Engine e;
        try {
            e = Engine.valueOf(engine);
        } catch (IllegalArgumentException x) {
            throw new IllegalArgumentException("files.engine must be moosefs, shared or none, not '" + engine.toLowerCase(Locale.ROOT) + "'");
        }
        List<String> core = new ArrayList<>(Arrays.stream(p.getProperty("files.core", "").split(","))
            .map(String::trim).filter(s -> !s.isEmpty()).toList());
        if (core.isEmpty()) {
            core.add(nodeName);
        }
        return new FilesConfig(e, Path.of(p.getProperty("files.mount", DEFAULT_MOUNT.toString()).trim()),
            intValue(p, "files.copies", DEFAULT_COPIES), core, intValue(p, "files.port", DEFAULT_PORT));
    }

    private static int intValue(Properties p, String key, int dflt) {
        String v = p.getProperty(key);
        if (v == null || v.isBlank()) {
            return dflt;
        }
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException x) {
            throw new IllegalArgumentException("'" + key + "' must be a number, not '" + v.trim() + "'");
        }
    }

    /** The lines {@link #load} reads back. */
    public String render() {
        return "files.engine = " + engine.name().toLowerCase(Locale.ROOT) + "\n"
            + "files.mount = " + mount + "\n"
            + "files.copies = " + copies + "\n"
            + "files.core = " + String.join(",", core) + "\n"
            + "files.port = " + port + "\n";
    }

    /** The Raft majority of the core. */
    public int majority() {
        return core.size() / 2 + 1;
    }

    public FilesConfig withCore(List<String> names) {
        return new FilesConfig(engine, mount, copies, names, port);
    }

    public FilesConfig withEngine(Engine e) {
        return new FilesConfig(e, mount, copies, core, port);
    }
}

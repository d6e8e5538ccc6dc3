package dev.gestalt.files;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What {@code gestalt fs status} shows: the engine and its health, where the tree is, who
 * serves it, the copies wanted and the chunks that lack copies, and one row per node.
 *
 * @param engine moosefs, shared or none
 * @param version the engine's version ("" if unknown)
 * @param mount the tree's path
 * @param health ok, degraded (serving, but copies or metaloggers are missing, or a node lacks the mount),
 *               down (not serving) or none (no file space)
 * @param detail why, in one line ("" when ok)
 * @param master the master's node ("" if none)
 * @param metaloggers the metaloggers' nodes
 * @param epoch the master's epoch
 * @param copies copies wanted of each chunk
 * @param underGoal chunks with fewer copies than wanted (-1 if unknown)
 * @param missing chunks with no copy at all (-1 if unknown)
 * @param nodes one row per node
 */
public record FsStatus(String engine, String version, String mount, String health, String detail, String master,
                       List<String> metaloggers, long epoch, int copies, long underGoal, long missing, List<Node> nodes) {

    /**
     * @param name node name
     * @param address its cluster address
     * @param roles what it runs (master, metalogger, chunkserver)
     * @param mounted whether it has the tree mounted (as the engine sees it)
     * @param usedBytes bytes its chunkserver stores (-1 unknown)
     * @param totalBytes capacity of its chunkserver (-1 unknown)
     */
    public record Node(String name, String address, List<String> roles, boolean mounted, long usedBytes, long totalBytes) {}

    public static FsStatus none(String reason) {
        return new FsStatus("none", "", "", "none", reason, "", List.of(), 0, 0, -1, -1, List.of());
    }

    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("engine", engine);
        m.put("version", version);
        m.put("mount", mount);
        m.put("health", health);
        m.put("detail", detail);
        m.put("master", master);
        m.put("metaloggers", metaloggers);
        m.put("epoch", epoch);
        m.put("copies", copies);
        m.put("chunks_under_goal", underGoal);
        m.put("chunks_missing", missing);
        List<Object> rows = new ArrayList<>();
        for (Node n : nodes) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("name", n.name());
            r.put("address", n.address());
            r.put("roles", n.roles());
            r.put("mounted", n.mounted());
            r.put("used_bytes", n.usedBytes());
            r.put("total_bytes", n.totalBytes());
            rows.add(r);
        }
        m.put("nodes", rows);
        return m;
    }
}

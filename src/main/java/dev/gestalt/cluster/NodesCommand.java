package dev.gestalt.cluster;

import dev.gestalt.format.Json;
import dev.gestalt.command.ParsedArgs;
import dev.gestalt.command.Sizes;
import dev.gestalt.format.Table;
import dev.gestalt.rpc.local.ClientSession;
import dev.gestalt.rpc.local.CommandHandler;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code gestalt nodes}: the bulletin board of this node — every node it has
 * heard of, from the gossiped load table, with the age of each reading. A node
 * out of the view is shown {@code down}; one whose reading is old, {@code stale}.
 */
public final class NodesCommand implements CommandHandler {

    static final long STALE_MILLIS = 5000;

    private final Membership membership;

    public NodesCommand(Membership membership) {
        this.membership = membership;
    }

    public static String state(LoadEntry e) {
        if (!e.inView()) {
            return "down";
        }
        if (e.report().draining()) {
            return "draining";
        }
        return e.age().toMillis() > STALE_MILLIS ? "stale" : "up";
    }

    public static List<LoadEntry> sorted(Membership m) {
        List<LoadEntry> entries = new ArrayList<>(m.loadTable().values());
        entries.sort(Comparator.comparingInt((LoadEntry e) -> e.report().nodeId()).thenComparing(e -> e.report().node()));
        return entries;
    }

    @Override
    public int handle(ClientSession s) throws Exception {
        ParsedArgs a = s.args();
        List<LoadEntry> entries = sorted(membership);
        if (a.has("json")) {
            List<Object> out = new ArrayList<>();
            for (LoadEntry e : entries) {
                LoadReport r = e.report();
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("name", r.node());
                m.put("id", r.nodeId());
                m.put("address", r.rpcAddress());
                m.put("state", state(e));
                m.put("cpus", r.cpus());
                m.put("load", r.load());
                m.put("mem_free_bytes", r.memFreeBytes());
                m.put("mem_total_bytes", r.memTotalBytes());
                m.put("processes", r.processes());
                m.put("version", r.version());
                m.put("migratable", r.migration().available());
                m.put("migration", r.migration().detail());
                m.put("age_millis", e.age().toMillis());
                out.add(m);
            }
            s.out(Json.write(out) + "\n");
            return 0;
        }
        Table t = new Table("NAME", ">ID", "ADDRESS", "STATE", ">CPUS", ">LOAD", ">FREE", ">PROCS", "MIGRATE", "VERSION", ">AGE");
        StringBuilder why = new StringBuilder();
        for (LoadEntry e : entries) {
            LoadReport r = e.report();
            t.row(r.node() + (r.node().equals(membership.nodeName()) ? "*" : ""), r.nodeId(), r.rpcAddress(), state(e),
                r.cpus(), String.format(Locale.ROOT, "%.2f", r.load()), Sizes.human(r.memFreeBytes()), r.processes(),
                r.migration().word(), r.version(), String.format(Locale.ROOT, "%.1fs", e.age().toMillis() / 1000.0));
            if (!r.migration().available() && !r.migration().equals(Migration.UNKNOWN) && e.inView()) {
                why.append(r.node()).append(" cannot move processes: ").append(r.migration().detail()).append('\n');
            }
        }
        s.out(t.toString() + (why.isEmpty() ? "" : "\n" + why));
        return 0;
    }
}

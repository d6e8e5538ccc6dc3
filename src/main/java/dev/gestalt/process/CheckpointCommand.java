package dev.gestalt.process;

import dev.gestalt.command.ParsedArgs;
import dev.gestalt.format.Json;
import dev.gestalt.format.Table;
import dev.gestalt.process.checkpoint.CheckpointStore;
import dev.gestalt.process.placement.PlacementRequest;
import dev.gestalt.rpc.GestaltException;
import dev.gestalt.rpc.local.ClientSession;
import dev.gestalt.rpc.local.CommandHandler;
import dev.gestalt.rpc.proto.CheckpointMeta;
import dev.gestalt.rpc.proto.CheckpointsGrpc;
import dev.gestalt.rpc.proto.ProcInfo;
import dev.gestalt.rpc.proto.RestartReply;
import dev.gestalt.rpc.proto.RestartRequest;
import dev.gestalt.rpc.proto.TakeReply;
import dev.gestalt.rpc.proto.TakeRequest;
import java.io.IOException;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code gestalt checkpoint}, {@code checkpoints} and {@code restart} (see CheckpointService):
 * a checkpoint is taken by the node its process runs on and restarted by the node asked (or
 * picked); listing and removing read the file space from this node. A user sees and restarts
 * only their own checkpoints; root all of them.
 */
public final class CheckpointCommand implements CommandHandler {

    /** Which of the three commands. */
    public enum Kind { TAKE, LIST, RESTART }

    private static final DateTimeFormatter WHEN = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss", Locale.ROOT)
        .withZone(ZoneId.systemDefault());

    private final ProcessSpace space;
    private final CheckpointStore store;
    private final Kind kind;

    public CheckpointCommand(ProcessSpace space, CheckpointStore store, Kind kind) {
        this.space = space;
        this.store = store;
        this.kind = kind;
    }

    @Override
    public int handle(ClientSession s) throws Exception {
        return switch (kind) {
            case TAKE -> take(s);
            case LIST -> s.args().positionals().isEmpty() ? list(s) : remove(s);
            case RESTART -> restart(s);
        };
    }

    private int take(ClientSession s) throws Exception {
        ParsedArgs a = s.args();
        String gpid = a.positionals().getFirst();
        ProcInfo p = ProcessQueries.find(space, gpid);
        if (p.getState().equals("exited")) {
            s.err("gestalt checkpoint: " + gpid + " has exited\n");
            return 1;
        }
        var req = TakeRequest.newBuilder().setGpid(gpid).setLeaveRunning(a.has("leave-running"))
            .setCaller(ProcessQueries.caller(s)).build();
        TakeReply r = new ClientCalls(space, s).call(p.getNode(), gpid,
            ch -> CheckpointsGrpc.newBlockingStub(ch).take(req));
        if (a.has("json")) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("gpid", gpid);
            m.put("node", p.getNode());
            m.put("ok", r.getError().isEmpty());
            if (r.getError().isEmpty()) {
                m.put("name", r.getName());
                m.put("bytes", r.getBytes());
                m.put("frozen_ms", r.getFrozenMillis());
                m.put("stopped", !a.has("leave-running"));
            } else {
                m.put("error", r.getError());
            }
            s.out(Json.write(m) + "\n");
        } else if (r.getError().isEmpty()) {
            s.out(r.getName() + "\n");
            s.err(String.format(Locale.ROOT, "gestalt checkpoint: %s saved as %s (%.1f MB, frozen %d ms)%s%n", gpid,
                r.getName(), r.getBytes() / 1e6, r.getFrozenMillis(), a.has("leave-running") ? "; it runs on" : "; it was stopped"));
        } else {
            s.err("gestalt checkpoint: " + r.getError() + "\n");
        }
        return r.getError().isEmpty() ? 0 : 1;
    }

    private boolean mine(ClientSession s, CheckpointMeta m) {
        return s.isRoot() || m.getJob().getUid() == s.caller().uid();
    }

    private int list(ClientSession s) throws Exception {
        List<String> damaged = new ArrayList<>();
        List<CheckpointStore.Entry> all = store.list(damaged).stream().filter(e -> mine(s, e.meta())).toList();
        if (s.args().has("json")) {
            List<Object> rows = new ArrayList<>();
            for (var e : all) {
                CheckpointMeta m = e.meta();
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("name", m.getName());
                r.put("gpid", m.getJob().getGpid());
                r.put("user", m.getJob().getUser());
                r.put("uid", m.getJob().getUid());
                r.put("node", m.getNode());
                r.put("created", Instant.ofEpochMilli(m.getCreatedEpochMillis()).toString());
                r.put("bytes", e.bytes());
                r.put("stopped", m.getStopped());
                r.put("command", String.join(" ", m.getJob().getArgvList()));
                rows.add(r);
            }
            s.out(Json.write(rows) + "\n");
        } else {
            Table t = new Table("NAME", "GPID", "USER", "NODE", "CREATED", "SIZE", "PROCESS", "COMMAND");
            for (var e : all) {
                CheckpointMeta m = e.meta();
                t.row(m.getName(), m.getJob().getGpid(), m.getJob().getUser(), m.getNode(),
                    WHEN.format(Instant.ofEpochMilli(m.getCreatedEpochMillis())),
                    String.format(Locale.ROOT, "%.1fM", e.bytes() / 1e6), m.getStopped() ? "stopped" : "ran on",
                    String.join(" ", m.getJob().getArgvList()));
            }
            s.out(t.toString());
        }
        if (s.isRoot()) {
            damaged.forEach(d -> s.err("gestalt checkpoints: cannot read " + d + "\n"));
        }
        return 0;
    }

    private int remove(ClientSession s) throws Exception {
        int failed = 0;
        for (String name : s.args().positionals().subList(1, s.args().positionals().size())) {
            try {
                CheckpointMeta m = store.meta(name);
                if (!mine(s, m)) {
                    s.err("gestalt checkpoints: " + name + ": permission denied\n");
                    failed++;
                    continue;
                }
                store.remove(name);
            } catch (java.nio.file.NoSuchFileException e) {
                s.err("gestalt checkpoints: " + name + ": no such checkpoint\n");
                failed++;
            } catch (IOException e) {
                if (!s.isRoot()) {
                    s.err("gestalt checkpoints: " + name + ": " + e.getMessage() + "\n");
                    failed++;
                    continue;
                }
                store.remove(name); // root removes one that cannot be read
            }
        }
        return failed == 0 ? 0 : 1;
    }

    private int restart(ClientSession s) throws Exception {
        ParsedArgs a = s.args();
        String name = a.positionals().getFirst();
        CheckpointMeta m;
        try {
            m = store.meta(name);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new GestaltException.NotFound("no checkpoint named " + name + " (see gestalt checkpoints)");
        } catch (IOException e) {
            s.err("gestalt restart: checkpoint " + name + ": " + e.getMessage() + "\n");
            return 1;
        }
        if (!mine(s, m)) {
            throw new GestaltException.PermissionDenied("checkpoint " + name + ": permission denied");
        }
        String gpid = m.getJob().getGpid();
        try {
            ProcInfo p = ProcessQueries.find(space, gpid);
            if (!p.getState().equals("exited")) {
                s.err("gestalt restart: " + gpid + " runs on " + p.getNode() + ": end it first (gestalt kill " + gpid + ")\n");
                return 1;
            }
        } catch (GestaltException.NotFound e) {
            // it ended and its record went: free to run again
        } catch (GestaltException.NodeLost e) {
            String where = ProcessQueries.locate(space, List.of(gpid)).nodes().get(gpid);
            if (where == null || space.member(where) != null) {
                // its node is still in the cluster, only not answering: it may run there yet
                s.err("gestalt restart: " + e.getMessage() + ": " + gpid + " may still run there; restart it once "
                    + (where == null ? "its node" : where) + " has left the cluster (gestalt nodes), or end it\n");
                return 1;
            }
            // its node left the cluster: what ran there ended with it
        }
        String node;
        if (a.has("node")) {
            node = space.member(a.get("node"));
            if (node == null) {
                throw new GestaltException.NotFound("no node " + a.get("node") + " in the cluster (see gestalt nodes)");
            }
        } else {
            node = space.place(PlacementRequest.ANY).node();
        }
        var req = RestartRequest.newBuilder().setName(name).setCaller(ProcessQueries.caller(s)).build();
        RestartReply r = new ClientCalls(space, s).call(node, name, ch -> CheckpointsGrpc.newBlockingStub(ch).restart(req));
        if (a.has("json")) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("name", name);
            j.put("ok", r.getError().isEmpty());
            j.put("gpid", gpid);
            j.put("node", node);
            if (r.getError().isEmpty()) {
                j.put("restore_ms", r.getRestoreMillis());
            } else {
                j.put("error", r.getError());
            }
            s.out(Json.write(j) + "\n");
        } else if (r.getError().isEmpty()) {
            s.out(gpid + "\n");
            s.err("gestalt restart: " + gpid + " runs again on " + node + " from " + name + " (restored in "
                + r.getRestoreMillis() + " ms)\n");
        } else {
            s.err("gestalt restart: " + r.getError() + "\n");
        }
        return r.getError().isEmpty() ? 0 : 1;
    }
}

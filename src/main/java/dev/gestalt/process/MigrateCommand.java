package dev.gestalt.process;

import dev.gestalt.command.ParsedArgs;
import dev.gestalt.format.Json;
import dev.gestalt.rpc.GestaltException;
import dev.gestalt.rpc.local.ClientSession;
import dev.gestalt.rpc.local.CommandHandler;
import dev.gestalt.rpc.proto.MigrateGrpc;
import dev.gestalt.rpc.proto.MoveProgress;
import dev.gestalt.rpc.proto.MoveRequest;
import dev.gestalt.rpc.proto.MoveSummary;
import dev.gestalt.rpc.proto.ProcInfo;
import java.io.IOException;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

/**
 * {@code gestalt migrate [--check] GPID [NODE]}: moves a running process to NODE (or where the
 * placement policy says), asked of the node it runs on (see MigrateService). Prints the phases
 * as they happen and a summary; exits 0 once it runs there, 1 when it cannot move or the move
 * failed (it runs on where it was, and the reason says why), 255 for Gestalt's own failures.
 * With {@code --check}: what would stop it from moving, freezing nothing; 0 when nothing would.
 */
public final class MigrateCommand implements CommandHandler {

    private final ProcessSpace space;

    public MigrateCommand(ProcessSpace space) {
        this.space = space;
    }

    @Override
    public int handle(ClientSession s) throws Exception {
        ParsedArgs a = s.args();
        String gpid = a.positionals().getFirst();
        String target = a.positionals().size() > 1 ? a.positionals().get(1) : "";
        boolean check = a.has("check");
        boolean json = a.has("json");
        if (!target.isEmpty() && space.member(target) == null) {
            throw new GestaltException.NotFound("no node " + target + " in the cluster (see gestalt nodes)");
        }
        ProcInfo p = ProcessQueries.find(space, gpid);
        if (p.getState().equals("exited")) {
            s.err("gestalt migrate: " + gpid + " has exited\n");
            return 1;
        }
        var request = MoveRequest.newBuilder().setGpid(gpid).setTarget(target).setCheckOnly(check)
            .setMethod(a.get("method", "")).setCaller(ProcessQueries.caller(s)).setWhy("gestalt migrate by " + s.caller().user()).build();
        MoveProgress last = move(new ClientCalls(space, s), p.getNode(), request, m -> {
            if (!json && m.getError().isEmpty() && !m.getPhase().equals("done") && !check) {
                s.out(gpid + ": " + m.getPhase() + ": " + m.getDetail() + "\n");
            }
        });
        if (json) {
            s.out(Json.write(json(gpid, p.getNode(), check, last)) + "\n");
        } else if (check) {
            if (last.getBlockersCount() == 0) {
                s.out(gpid + " can move: " + last.getDetail() + "\n");
            } else {
                s.out(gpid + " cannot move:\n");
                last.getBlockersList().forEach(b -> s.out("  " + b + "\n"));
            }
        } else if (last.hasDone()) {
            MoveSummary d = last.getDone();
            s.out(String.format(Locale.ROOT, "moved %s from %s to %s (%s): downtime %d ms, %.1f MB moved, %d ms in all%n",
                gpid, d.getFrom(), d.getTo(), d.getMethod(), d.getDowntimeMillis(), d.getBytes() / 1e6, d.getTotalMillis()));
        } else {
            s.err("gestalt migrate: " + last.getError() + "\n");
            last.getBlockersList().forEach(b -> s.err("  " + b + "\n"));
        }
        return last.getError().isEmpty() ? 0 : 1;
    }

    /**
     * Asks {@code node} to move (or check) the process of {@code request}, showing each phase to
     * {@code phase}; returns the last message, which has {@code done} or {@code error}.
     */
    static MoveProgress move(ClientCalls calls, String node, MoveRequest request, Consumer<MoveProgress> phase)
            throws GestaltException, IOException {
        MoveProgress last = calls.call(node, request.getGpid(), ch -> {
            Iterator<MoveProgress> it = MigrateGrpc.newBlockingStub(ch).move(request);
            MoveProgress m = null;
            while (it.hasNext()) {
                m = it.next();
                phase.accept(m);
            }
            return m;
        });
        if (last == null) {
            throw new GestaltException.NodeLost(node + " ended the move of " + request.getGpid() + " without a word");
        }
        return last;
    }

    private static Map<String, Object> json(String gpid, String from, boolean check, MoveProgress last) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("gpid", gpid);
        m.put("from", from);
        if (check) {
            m.put("can_move", last.getBlockersCount() == 0);
        } else {
            m.put("moved", last.hasDone());
        }
        m.put("blockers", last.getBlockersList());
        if (!last.getError().isEmpty()) {
            m.put("error", last.getError());
        }
        if (last.hasDone()) {
            MoveSummary d = last.getDone();
            m.put("to", d.getTo());
            m.put("method", d.getMethod());
            m.put("downtime_ms", d.getDowntimeMillis());
            m.put("total_ms", d.getTotalMillis());
            m.put("bytes", d.getBytes());
            m.put("dump_ms", d.getDumpMillis());
            m.put("transfer_ms", d.getTransferMillis());
            m.put("restore_ms", d.getRestoreMillis());
            m.put("memory_bytes", d.getMemoryBytes());
            m.put("fill_ms", d.getFillMillis());
        }
        return m;
    }
}

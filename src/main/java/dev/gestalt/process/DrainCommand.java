package dev.gestalt.process;

import dev.gestalt.format.Json;
import dev.gestalt.os.Signals;
import dev.gestalt.rpc.GestaltException;
import dev.gestalt.rpc.local.ClientSession;
import dev.gestalt.rpc.local.CommandHandler;
import dev.gestalt.rpc.proto.DrainReply;
import dev.gestalt.rpc.proto.DrainRequest;
import dev.gestalt.rpc.proto.MigrateGrpc;
import dev.gestalt.rpc.proto.MoveProgress;
import dev.gestalt.rpc.proto.MoveRequest;
import dev.gestalt.rpc.proto.ProcsGrpc;
import dev.gestalt.rpc.proto.SignalRequest;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@code gestalt drain [--force] NODE} and {@code gestalt undrain NODE} (root only), for taking a
 * node down without stopping jobs (as Slurm's DRAIN and Kubernetes' drain): NODE takes no new
 * process from now on, started or moved there, and each process running there is moved to the
 * node the placement policy picks, one after the other. What cannot move is listed with why, and
 * killed only with {@code --force}. Exit 0 once nothing runs on NODE, 1 while something does.
 * The drain lasts, across restarts of the node, until {@code undrain}.
 */
public final class DrainCommand implements CommandHandler {

    private final ProcessSpace space;
    private final boolean drain;

    /** @param drain true for {@code drain}, false for {@code undrain} */
    public DrainCommand(ProcessSpace space, boolean drain) {
        this.space = space;
        this.drain = drain;
    }

    @Override
    public int handle(ClientSession s) throws Exception {
        String name = s.args().positionals().getFirst();
        String node = space.member(name);
        if (node == null) {
            throw new GestaltException.NotFound("no node " + name + " in the cluster (see gestalt nodes)");
        }
        if (!s.isRoot()) {
            throw new GestaltException.PermissionDenied("only root may " + (drain ? "drain" : "undrain") + " a node");
        }
        var calls = new ClientCalls(space, s);
        var request = DrainRequest.newBuilder().setCaller(ProcessQueries.caller(s)).setDraining(drain).build();
        DrainReply reply = calls.call(node, node, ch -> MigrateGrpc.newBlockingStub(ch)
            .withDeadlineAfter(30, TimeUnit.SECONDS).drain(request));
        boolean json = s.args().has("json");
        if (!drain) {
            if (json) {
                s.out(Json.write(Map.of("node", node, "was_draining", reply.getWasDraining())) + "\n");
            } else {
                s.out(node + (reply.getWasDraining() ? " takes new processes again\n" : " was not draining\n"));
            }
            return 0;
        }
        if (!json) {
            s.out(node + (reply.getWasDraining() ? " is draining already" : " is draining now") + ": it takes no new processes; "
                + reply.getRunningCount() + " running there\n");
        }
        List<Map<String, Object>> moved = new ArrayList<>();
        List<Map<String, Object>> stuck = new ArrayList<>();
        List<String> killed = new ArrayList<>();
        for (String gpid : reply.getRunningList()) {
            MoveProgress last = move(calls, node, s, gpid);
            if (last == null) {
                continue; // it ended meanwhile
            }
            if (last.hasDone()) {
                moved.add(Map.of("gpid", gpid, "to", last.getDone().getTo(),
                    "downtime_ms", last.getDone().getDowntimeMillis()));
                if (!json) {
                    s.out("moved " + gpid + " to " + last.getDone().getTo() + " (downtime "
                        + last.getDone().getDowntimeMillis() + " ms)\n");
                }
                continue;
            }
            List<String> why = new ArrayList<>(last.getBlockersList());
            if (why.isEmpty()) {
                why.add(last.getError());
            }
            if (s.args().has("force") && kill(calls, node, s, gpid)) {
                killed.add(gpid);
                if (!json) {
                    s.out("killed " + gpid + ", which cannot move: " + String.join("; ", why) + "\n");
                }
                continue;
            }
            stuck.add(Map.of("gpid", gpid, "blockers", why));
            if (!json) {
                s.out(gpid + " cannot move:\n");
                why.forEach(w -> s.out("  " + w + "\n"));
            }
        }
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("node", node);
            m.put("was_draining", reply.getWasDraining());
            m.put("moved", moved);
            m.put("cannot_move", stuck);
            m.put("killed", killed);
            s.out(Json.write(m) + "\n");
        } else if (stuck.isEmpty()) {
            s.out(node + " is drained: no process of Gestalt runs there (gestalt undrain " + node + " opens it again)\n");
        } else {
            s.err("gestalt drain: " + stuck.size() + (stuck.size() == 1 ? " process" : " processes") + " still run on "
                + node + " (gestalt drain --force kills what cannot move)\n");
        }
        return stuck.isEmpty() ? 0 : 1;
    }

    /** Moves {@code gpid} off {@code node}; null when it ended before it could. */
    private MoveProgress move(ClientCalls calls, String node, ClientSession s, String gpid) throws Exception {
        var request = MoveRequest.newBuilder().setGpid(gpid).setCaller(ProcessQueries.caller(s))
            .setWhy("gestalt drain " + node).build();
        try {
            return MigrateCommand.move(calls, node, request, m -> {});
        } catch (GestaltException.NotFound e) {
            return null;
        }
    }

    private boolean kill(ClientCalls calls, String node, ClientSession s, String gpid) throws Exception {
        var request = SignalRequest.newBuilder().setGpid(gpid).setSignal(Signals.SIGKILL)
            .setCaller(ProcessQueries.caller(s)).build();
        try {
            return calls.call(node, gpid, ch -> ProcsGrpc.newBlockingStub(ch).withDeadlineAfter(30, TimeUnit.SECONDS)
                .signal(request)).getFound();
        } catch (GestaltException.NotFound e) {
            return true; // ended by itself meanwhile: not there any more either way
        }
    }
}

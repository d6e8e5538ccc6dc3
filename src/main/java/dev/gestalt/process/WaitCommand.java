package dev.gestalt.process;

import dev.gestalt.command.ParsedArgs;
import dev.gestalt.rpc.GestaltException;
import dev.gestalt.rpc.local.ClientSession;
import dev.gestalt.rpc.local.CommandHandler;
import dev.gestalt.rpc.proto.Exit;
import dev.gestalt.rpc.proto.ListRequest;
import dev.gestalt.rpc.proto.ProcInfo;
import dev.gestalt.rpc.proto.ProcsGrpc;
import dev.gestalt.rpc.proto.WaitRequest;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code gestalt wait}: waits for each GPID; exits with the code of the last, as the shell's wait
 * does, and with 255 "node NAME lost" when the node that runs one leaves the cluster meanwhile. A
 * process that moves to another node meanwhile is waited for there.
 * {@code --all}: every process of the caller's running when it starts; exits 0.
 */
public final class WaitCommand implements CommandHandler {

    /** Moves followed during one wait (a process moved back and forth without end is given up on). */
    static final int MAX_MOVES = 1000;

    private final ProcessSpace space;

    public WaitCommand(ProcessSpace space) {
        this.space = space;
    }

    @Override
    public int handle(ClientSession s) throws Exception {
        var calls = new ClientCalls(space, s);
        int code = 0;
        ParsedArgs a = s.args();
        for (String gpid : a.has("all") ? mine(s) : a.positionals()) {
            ProcInfo p = ProcessQueries.find(space, gpid);
            if (p.getState().equals("exited")) {
                code = p.getExitCode();
                continue;
            }
            var request = WaitRequest.newBuilder().setGpid(gpid).setCaller(ProcessQueries.caller(s)).build();
            String node = p.getNode();
            code = 255; // moved back and forth more than MAX_MOVES times while waited for: given up on
            for (int moves = 0; moves <= MAX_MOVES; moves++) {
                Exit e;
                try {
                    String asked = node;
                    e = calls.call(asked, gpid, ch -> ProcsGrpc.newBlockingStub(ch).waitFor(request));
                } catch (GestaltException.NotFound gone) {
                    node = ProcessQueries.findAfterMove(space, gpid, node); // it moved (on) meanwhile
                    continue;
                }
                if (e.getMovedTo().isEmpty()) {
                    code = e.getCode();
                    break;
                }
                node = e.getMovedTo(); // it moved while we waited: wait there
            }
        }
        return a.has("all") ? 0 : code;
    }

    /** The caller's processes that run now, anywhere in the cluster. */
    private List<String> mine(ClientSession s) throws GestaltException.NodeLost {
        var listing = ProcessQueries.list(space, space.members(), ListRequest.newBuilder()
            .setByUid(true).setUid(s.caller().uid()).setRecordsOnly(true).build());
        if (!listing.unreachable().isEmpty()) {
            throw new GestaltException.NodeLost("cannot list your processes: node "
                + String.join(", ", listing.unreachable()) + " did not answer");
        }
        List<String> out = new ArrayList<>();
        for (ProcInfo p : listing.procs()) {
            if (!p.getState().equals("exited")) {
                out.add(p.getGpid());
            }
        }
        return out;
    }
}

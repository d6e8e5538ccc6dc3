package dev.gestalt.process;

import dev.gestalt.command.ArgParser;
import dev.gestalt.command.Commands;
import dev.gestalt.command.ParsedArgs;
import dev.gestalt.command.Validation;
import dev.gestalt.rpc.GestaltException;
import dev.gestalt.rpc.local.ClientSession;
import dev.gestalt.rpc.local.CommandHandler;
import dev.gestalt.rpc.local.InputListener;
import dev.gestalt.rpc.proto.Exit;
import dev.gestalt.rpc.proto.ListRequest;
import dev.gestalt.rpc.proto.ProcInfo;
import dev.gestalt.rpc.proto.ProcsGrpc;
import dev.gestalt.rpc.proto.WaitRequest;
import io.grpc.Context;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code gestalt wait}: waits for each GPID; exits with the code of the last, as the shell's wait
 * does. {@code --all}: every process of the caller's running when it starts; exits 0.
 */
public final class WaitCommand implements CommandHandler {

    private final ProcessSpace space;

    public WaitCommand(ProcessSpace space) {
        this.space = space;
    }

    @Override
    public int handle(ClientSession s) throws Exception {
        ParsedArgs a = ArgParser.parse(Commands.find("wait"), s.request().args());
        Validation.check(Commands.find("wait"), a);
        var ctx = Context.current().withCancellation();
        s.startInput(new InputListener() {
            @Override
            public void gone() {
                ctx.cancel(null);
            }
        });
        int code = 0;
        for (String gpid : a.has("all") ? mine(s) : a.positionals()) {
            ProcInfo p = ProcessQueries.find(space, gpid);
            if (p.getState().equals("exited")) {
                code = p.getExitCode();
                continue;
            }
            try {
                Context prev = ctx.attach();
                try {
                    Exit e = ProcsGrpc.newBlockingStub(space.channel(p.getNode()))
                        .waitFor(WaitRequest.newBuilder().setGpid(gpid).setCaller(ProcessQueries.caller(s)).build());
                    code = e.getCode();
                } finally {
                    ctx.detach(prev);
                }
            } catch (RuntimeException e) {
                GestaltException g = GestaltException.fromStatus(e, p.getNode());
                if (g instanceof GestaltException.PermissionDenied) {
                    throw new GestaltException.PermissionDenied(gpid + ": permission denied");
                }
                throw g;
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

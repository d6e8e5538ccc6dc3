package dev.gestalt.process;

import dev.gestalt.command.ArgParser;
import dev.gestalt.command.Commands;
import dev.gestalt.command.ParsedArgs;
import dev.gestalt.command.Validation;
import dev.gestalt.rpc.GestaltException;
import dev.gestalt.rpc.local.ClientSession;
import dev.gestalt.rpc.local.CommandHandler;
import dev.gestalt.rpc.local.InputListener;
import dev.gestalt.rpc.proto.LogChunk;
import dev.gestalt.rpc.proto.LogsRequest;
import dev.gestalt.rpc.proto.ProcInfo;
import dev.gestalt.rpc.proto.ProcsGrpc;
import io.grpc.Context;
import java.util.Iterator;

/** {@code gestalt logs [-f] GPID}: a detached process's output, read from the node that runs it. */
public final class LogsCommand implements CommandHandler {

    private final ProcessSpace space;

    public LogsCommand(ProcessSpace space) {
        this.space = space;
    }

    @Override
    public int handle(ClientSession s) throws Exception {
        ParsedArgs a = ArgParser.parse(Commands.find("logs"), s.request().args());
        Validation.check(Commands.find("logs"), a);
        String gpid = a.positionals().getFirst();
        ProcInfo p = ProcessQueries.find(space, gpid);
        var ctx = Context.current().withCancellation();
        s.startInput(new InputListener() {
            @Override
            public void gone() {
                ctx.cancel(null);
            }
        });
        Context prev = ctx.attach();
        try {
            Iterator<LogChunk> it = ProcsGrpc.newBlockingStub(space.channel(p.getNode())).logs(LogsRequest.newBuilder()
                .setGpid(gpid).setCaller(ProcessQueries.caller(s)).setFollow(a.has("follow")).build());
            while (it.hasNext()) {
                LogChunk c = it.next();
                if (!c.getStdout().isEmpty()) {
                    byte[] b = c.getStdout().toByteArray();
                    s.stdout(b, 0, b.length);
                }
                if (!c.getStderr().isEmpty()) {
                    byte[] b = c.getStderr().toByteArray();
                    s.stderr(b, 0, b.length);
                }
            }
            return 0;
        } catch (RuntimeException e) {
            if (s.clientGone()) {
                return 0;
            }
            GestaltException g = GestaltException.fromStatus(e, p.getNode());
            throw g instanceof GestaltException.PermissionDenied ? new GestaltException.PermissionDenied(gpid + ": permission denied") : g;
        } finally {
            ctx.detach(prev);
        }
    }
}

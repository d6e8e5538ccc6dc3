package dev.gestalt.process;

import dev.gestalt.command.ParsedArgs;
import dev.gestalt.rpc.GestaltException;
import dev.gestalt.rpc.local.ClientSession;
import dev.gestalt.rpc.local.CommandHandler;
import dev.gestalt.rpc.proto.LogChunk;
import dev.gestalt.rpc.proto.LogsRequest;
import dev.gestalt.rpc.proto.ProcInfo;
import dev.gestalt.rpc.proto.ProcsGrpc;
import java.io.IOException;
import java.util.Iterator;

/**
 * {@code gestalt logs [-f] GPID}: a detached process's output, read from the node that runs it;
 * 255 "node NAME lost" when that node leaves the cluster while it is followed.
 */
public final class LogsCommand implements CommandHandler {

    private final ProcessSpace space;

    public LogsCommand(ProcessSpace space) {
        this.space = space;
    }

    @Override
    public int handle(ClientSession s) throws Exception {
        ParsedArgs a = s.args();
        String gpid = a.positionals().getFirst();
        ProcInfo p = ProcessQueries.find(space, gpid);
        var calls = new ClientCalls(space, s);
        var request = LogsRequest.newBuilder().setGpid(gpid).setCaller(ProcessQueries.caller(s)).setFollow(a.has("follow")).build();
        try {
            return calls.call(p.getNode(), gpid, ch -> {
                Iterator<LogChunk> it = ProcsGrpc.newBlockingStub(ch).logs(request);
                while (it.hasNext()) {
                    LogChunk c = it.next();
                    if (!c.getStdout().isEmpty()) {
                        s.stdout(c.getStdout().asReadOnlyByteBuffer());
                    }
                    if (!c.getStderr().isEmpty()) {
                        s.stderr(c.getStderr().asReadOnlyByteBuffer());
                    }
                }
                return 0;
            });
        } catch (IOException e) {
            return 0; // the client went away
        } catch (GestaltException e) {
            if (s.clientGone()) {
                return 0;
            }
            throw e;
        }
    }
}

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
 * 255 "node NAME lost" when that node leaves the cluster while it is followed. A process followed
 * while it moves to another node is followed on there, from where its log was (the log moved
 * with it, whole).
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
        long[] got = new long[2]; // bytes of stdout and stderr printed: a log followed after a move goes on from there
        try {
            String node = p.getNode();
            for (int moves = 0; node != null && moves <= WaitCommand.MAX_MOVES; moves++) {
                var request = LogsRequest.newBuilder().setGpid(gpid).setCaller(ProcessQueries.caller(s))
                    .setFollow(a.has("follow")).setSkipStdout(got[0]).setSkipStderr(got[1]).build();
                String asked = node;
                try {
                    node = calls.call(asked, gpid, ch -> {
                    Iterator<LogChunk> it = ProcsGrpc.newBlockingStub(ch).logs(request);
                    String movedTo = null;
                    while (it.hasNext()) {
                        LogChunk c = it.next();
                        if (!c.getStdout().isEmpty()) {
                            s.stdout(c.getStdout().asReadOnlyByteBuffer());
                            got[0] += c.getStdout().size();
                        }
                        if (!c.getStderr().isEmpty()) {
                            s.stderr(c.getStderr().asReadOnlyByteBuffer());
                            got[1] += c.getStderr().size();
                        }
                        if (c.hasExit() && !c.getExit().getMovedTo().isEmpty()) {
                            movedTo = c.getExit().getMovedTo();
                        }
                    }
                    return movedTo;
                    });
                } catch (GestaltException.NotFound e) {
                    if (moves == 0) {
                        throw e;
                    }
                    node = ProcessQueries.findAfterMove(space, gpid, asked); // it moved on meanwhile
                }
            }
            return 0;
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

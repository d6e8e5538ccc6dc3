package dev.gestalt.process;

import dev.gestalt.rpc.local.ClientSession;
import dev.gestalt.rpc.local.CommandHandler;
import dev.gestalt.rpc.proto.ProcInfo;
import dev.gestalt.rpc.proto.ProcsGrpc;
import dev.gestalt.rpc.proto.WaitRequest;

/**
 * {@code gestalt wait}: waits for each GPID; exits with the code of the last, as the shell's wait
 * does, and with 255 "node NAME lost" when the node that runs one leaves the cluster meanwhile.
 */
public final class WaitCommand implements CommandHandler {

    private final ProcessSpace space;

    public WaitCommand(ProcessSpace space) {
        this.space = space;
    }

    @Override
    public int handle(ClientSession s) throws Exception {
        var calls = new ClientCalls(space, s);
        int code = 0;
        for (String gpid : s.args().positionals()) {
            ProcInfo p = ProcessQueries.find(space, gpid);
            if (p.getState().equals("exited")) {
                code = p.getExitCode();
                continue;
            }
            var request = WaitRequest.newBuilder().setGpid(gpid).setCaller(ProcessQueries.caller(s)).build();
            code = calls.call(p.getNode(), gpid, ch -> ProcsGrpc.newBlockingStub(ch).waitFor(request).getCode());
        }
        return code;
    }
}

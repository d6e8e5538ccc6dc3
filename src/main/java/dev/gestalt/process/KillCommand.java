package dev.gestalt.process;

import dev.gestalt.command.ParsedArgs;
import dev.gestalt.command.UsageException;
import dev.gestalt.os.Signals;
import dev.gestalt.rpc.GestaltException;
import dev.gestalt.rpc.local.ClientSession;
import dev.gestalt.rpc.local.CommandHandler;
import dev.gestalt.rpc.proto.ProcInfo;
import dev.gestalt.rpc.proto.ProcsGrpc;
import dev.gestalt.rpc.proto.SignalReply;
import dev.gestalt.rpc.proto.SignalRequest;
import java.util.concurrent.TimeUnit;

/** {@code gestalt kill}: kill(1) for the cluster; IDs are GPIDs or NODE:PID. */
public final class KillCommand implements CommandHandler {

    private final ProcessSpace space;

    public KillCommand(ProcessSpace space) {
        this.space = space;
    }

    @Override
    public int handle(ClientSession s) throws Exception {
        ParsedArgs a = s.args();
        if (a.has("list")) {
            StringBuilder sb = new StringBuilder();
            for (int i = 1; i <= Signals.max(); i++) {
                String n = Signals.name(i);
                if (n != null) {
                    sb.append(String.format("%2d) SIG%-8s", i, n)).append(i % 5 == 0 ? "\n" : " ");
                }
            }
            s.out(sb.toString().stripTrailing() + "\n");
            return 0;
        }
        String sigText = a.has("signal") ? a.get("signal") : "TERM";
        int signal = Signals.parse(sigText).orElseThrow(() -> new UsageException("kill", "unknown signal '" + sigText + "'"));
        int failures = 0;
        for (String id : a.positionals()) {
            try {
                send(s, id, signal);
            } catch (GestaltException e) {
                s.err("gestalt kill: " + e.getMessage() + "\n");
                failures++;
            }
        }
        return failures == 0 ? 0 : 1;
    }

    private void send(ClientSession s, String id, int signal) throws GestaltException {
        var req = SignalRequest.newBuilder().setSignal(signal).setCaller(ProcessQueries.caller(s));
        String node;
        int colon = id.lastIndexOf(':');
        if (colon > 0) {
            node = id.substring(0, colon);
            try {
                req.setPid(Long.parseLong(id.substring(colon + 1)));
            } catch (NumberFormatException e) {
                throw new GestaltException.BadRequest(id + ": not a GPID or NODE:PID");
            }
            if (!space.members().contains(node)) {
                throw new GestaltException.NotFound(id + ": no node named " + node + " in the cluster");
            }
        } else {
            ProcInfo p = ProcessQueries.find(space, id);
            node = p.getNode();
            req.setGpid(id);
        }
        SignalReply reply;
        try {
            reply = ProcsGrpc.newBlockingStub(space.channel(node)).withDeadlineAfter(Fanout.TIMEOUT_MILLIS, TimeUnit.MILLISECONDS)
                .signal(req.build());
        } catch (RuntimeException e) {
            throw GestaltException.fromStatus(e, node).about(id);
        }
        if (!reply.getFound()) {
            throw new GestaltException.NotFound(id + ": no such process");
        }
    }
}

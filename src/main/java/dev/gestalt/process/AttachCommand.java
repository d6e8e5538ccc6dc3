package dev.gestalt.process;

import dev.gestalt.process.remote.RemoteExec;
import dev.gestalt.process.remote.Signaller;
import dev.gestalt.rpc.local.ClientSession;
import dev.gestalt.rpc.local.CommandHandler;
import dev.gestalt.rpc.proto.AttachSpec;
import dev.gestalt.rpc.proto.ExecIn;
import dev.gestalt.rpc.proto.ProcInfo;
import dev.gestalt.rpc.proto.WinSize;

/**
 * {@code gestalt attach GPID}: connects the client to a detached process from
 * any node. Leaving (Ctrl-] or closing the terminal) only ends the
 * attachment; the process keeps running. A process without a terminal is
 * attached as an attached {@code run} is: its output, and the client's
 * signals (Ctrl-C); the client is told so, and its terminal stays as it is.
 */
public final class AttachCommand implements CommandHandler {

    private final ProcessSpace space;
    private final Signaller signaller;

    public AttachCommand(ProcessSpace space, Signaller signaller) {
        this.space = space;
        this.signaller = signaller;
    }

    @Override
    public int handle(ClientSession s) throws Exception {
        String gpid = s.args().positionals().getFirst();
        ProcInfo p = ProcessQueries.find(space, gpid);
        if (!p.getDetached()) {
            s.err("gestalt attach: " + gpid + " is not detached: it belongs to the terminal that started it\n");
            return 1;
        }
        if (p.getState().equals("exited")) {
            s.err("gestalt attach: " + gpid + " has exited with code " + p.getExitCode() + " (see 'gestalt logs " + gpid + "')\n");
            return 1;
        }
        var events = new ClientRelay(s);
        var done = events.exit();
        events.started().thenAccept(started -> {
            if (started.getTty()) {
                s.terminal(true);
            } else if (s.request().tty()) {
                s.err("gestalt attach: " + gpid + " has no terminal: its output follows; Ctrl-C and other signals"
                    + " go to it ('gestalt logs -f " + gpid + "' only watches)\n");
            }
        });
        var spec = AttachSpec.newBuilder().setGpid(gpid).setCaller(ProcessQueries.caller(s)).setTty(s.request().tty())
            .setSize(WinSize.newBuilder().setCols(s.request().cols()).setRows(s.request().rows()));
        String node = p.getNode();
        RemoteExec exec = RemoteExec.open(space::channel, node, ExecIn.newBuilder().setAttach(spec).build(), true, events);
        space.track(exec);
        InputRelay.start(s, exec, gpid, signaller, 64 * 1024);
        try {
            return done.get();
        } finally {
            space.untrack(exec);
        }
    }
}

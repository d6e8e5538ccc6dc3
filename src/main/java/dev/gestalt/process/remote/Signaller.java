package dev.gestalt.process.remote;

import dev.gestalt.process.Gpid;
import dev.gestalt.process.ProcessSpace;
import dev.gestalt.rpc.GestaltException;
import dev.gestalt.rpc.proto.Caller;
import dev.gestalt.rpc.proto.ProcsGrpc;
import dev.gestalt.rpc.proto.SignalReply;
import dev.gestalt.rpc.proto.SignalRequest;
import dev.gestalt.rpc.proto.WinSize;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * Delivers a client's signals and window sizes to the execution node of a
 * process it is attached to, as unary calls apart from the stdin stream (a
 * full stdin must never delay Ctrl-C). The home node sends them with root's
 * authority: the client is attached to this very process.
 */
public final class Signaller {

    private static final Logger LOG = Logger.getLogger(Signaller.class.getName());
    private static final Caller HOME = Caller.newBuilder().setUid(0).setGid(0).setUser("root").build();

    private final ProcessSpace space;

    public Signaller(ProcessSpace space) {
        this.space = space;
    }

    /** Sends the signal; {@code done} runs when the call ends, however it ends. */
    public void signal(String node, String gpid, int signal, Runnable done) {
        send(node, SignalRequest.newBuilder().setGpid(gpid).setSignal(signal).setCaller(HOME).build(), done);
    }

    /** Sends the window size; {@code done} runs when the call ends, however it ends. */
    public void resize(String node, String gpid, int cols, int rows, Runnable done) {
        send(node, SignalRequest.newBuilder().setGpid(gpid).setCaller(HOME)
            .setResize(WinSize.newBuilder().setCols(cols).setRows(rows)).build(), done);
    }

    private void send(String node, SignalRequest req, Runnable done) {
        send(node, req, done, true);
    }

    /**
     * Sends to {@code node}; if the process is not there (it has just moved, and the stream has
     * not said so yet), once more to where this home node's record says it runs now.
     */
    private void send(String node, SignalRequest req, Runnable done, boolean followMove) {
        try {
            var call = ProcsGrpc.newFutureStub(space.channel(node)).withDeadlineAfter(5, TimeUnit.SECONDS).signal(req);
            call.addListener(() -> {
                String now = followMove && !found(call) ? placedOn(req.getGpid()) : null;
                if (now != null && !now.equals(node)) {
                    send(now, req, done, false);
                } else {
                    done.run();
                }
            }, Runnable::run);
        } catch (GestaltException e) {
            LOG.fine("signal to " + req.getGpid() + " on " + node + " not sent: " + e.getMessage());
            done.run();
        }
    }

    private static boolean found(com.google.common.util.concurrent.ListenableFuture<SignalReply> call) {
        try {
            return call.get().getFound();
        } catch (Exception e) {
            return true; // failed otherwise: nothing to follow
        }
    }

    /** Where this home node's record says the process runs (moves update it), or null. */
    private String placedOn(String gpid) {
        if (!Gpid.looksLike(gpid) || Gpid.parse(gpid).home() != space.selfId()) {
            return null;
        }
        return space.placements().node(Gpid.parse(gpid).seq());
    }
}

package dev.gestalt.process.remote;

import dev.gestalt.process.ProcessSpace;
import dev.gestalt.process.supervisor.SignalForward;
import dev.gestalt.rpc.GestaltException;
import dev.gestalt.rpc.proto.Caller;
import dev.gestalt.rpc.proto.ProcsGrpc;
import dev.gestalt.rpc.proto.SignalRequest;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * Sends on the signals of processes that moved from this node to where they run now, as their
 * owner's: one at a time, in the order they came (1024 may wait), each answered once delivered
 * (see {@link SignalForward}).
 */
final class SignalForwarder {
    private static final Logger LOG = Logger.getLogger(SignalForwarder.class.getName());

    private final Supplier<ProcessSpace> space;
    private final ThreadPoolExecutor queue = new ThreadPoolExecutor(1, 1, 30, TimeUnit.SECONDS,
        new ArrayBlockingQueue<>(1024), Thread.ofVirtual().name("signal-forward").factory());

    SignalForwarder(Supplier<ProcessSpace> space) {
        this.space = space;
        queue.allowCoreThreadTimeOut(true);
    }

    /** Where the signals of {@code gpid} (its owner {@code uid}), which went from here to {@code target}, go. */
    SignalForward to(String gpid, int uid, String target) {
        return sig -> {
            try {
                return queue.submit(() -> send(sig, gpid, uid, target));
            } catch (RejectedExecutionException e) {
                LOG.warning("signal " + sig + " to " + gpid + ", which moved from here, is lost: 1024 are waiting to be sent on");
                return CompletableFuture.completedFuture(null);
            }
        };
    }

    private void send(int sig, String gpid, int uid, String target) {
        try {
            var reply = ProcsGrpc.newBlockingStub(space.get().channel(target)).withDeadlineAfter(10, TimeUnit.SECONDS)
                .signal(SignalRequest.newBuilder().setGpid(gpid).setSignal(sig)
                    .setCaller(Caller.newBuilder().setUid(uid)).build());
            if (reply.getFound()) {
                LOG.fine("signal " + sig + " sent during the move of " + gpid + " forwarded to " + target);
            } else {
                LOG.warning("signal " + sig + " sent to " + gpid + " during its move is lost: " + target + " does not have it"
                    + (reply.getError().isEmpty() ? "" : " (" + reply.getError() + ")"));
            }
        } catch (GestaltException | RuntimeException e) {
            LOG.warning("signal " + sig + " sent to " + gpid + " during its move is lost: " + target + ": " + e.getMessage());
        }
    }
}

package dev.gestalt.process.remote;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.gestalt.rpc.FlowSender;
import dev.gestalt.rpc.GestaltException;
import dev.gestalt.rpc.proto.ExecGrpc;
import dev.gestalt.rpc.proto.ExecIn;
import dev.gestalt.rpc.proto.ExecOut;
import dev.gestalt.rpc.proto.Started;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ClientResponseObserver;
import java.io.IOException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The home node's side of one remote process: one bidirectional stream to the
 * execution node's {@link ExecService}. Output is handed to {@link Events} on
 * the stream's thread and the next message is requested only after the
 * handler returns, so a slow consumer (a CLI that stops reading) slows the
 * process. {@link #stdin} blocks while the transport is not ready.
 */
public final class RemoteExec {
    private static final Logger LOG = Logger.getLogger(RemoteExec.class.getName());

    /** What the home node does with the process's output. Called from one thread at a time. */
    public interface Events {
        void started(Started s);

        /** {@code data} is valid during the call only: its buffer is reused for the next message. */
        void stdout(ByteString data) throws IOException;

        /** As {@link #stdout}. */
        void stderr(ByteString data) throws IOException;

        /** The end: the process's exit code, or 255 with the reason Gestalt failed. Called exactly once. */
        void exit(int code, String reason);

        /**
         * Instead of {@link #exit}: the execution node did not start the process because it lacks
         * its working directory ({@code ProcessSpec.check_cwd}); whoever placed it may place it again.
         */
        default void cwdAbsent(String reason) {
            exit(255, reason);
        }
    }

    private final String node;
    private final Events events;
    private final AtomicBoolean ended = new AtomicBoolean();
    private volatile ClientCallStreamObserver<ExecIn> call;
    private volatile FlowSender<ExecIn> sender;
    private volatile boolean detachedStart;
    /**
     * The stream's callbacks, on one platform thread of its own: the output handler blocks on the
     * client's socket, and a thread that stays up while output flows costs one wake-up per
     * message at most, where a task per message on the shared executor costs a new thread each.
     */
    private final java.util.concurrent.ExecutorService callbacks = new java.util.concurrent.ThreadPoolExecutor(1, 1, 0,
        java.util.concurrent.TimeUnit.MILLISECONDS, new java.util.concurrent.LinkedBlockingQueue<>(),
        Thread.ofPlatform().daemon().name("remote-exec").factory(),
        // The stream's last callback shuts this down, and gRPC may still hand it a late close of
        // the same stream: drop it. Rejected, it is thrown into the transport's thread, which fails
        // every stream of the connection to that node with UNKNOWN ("node lost": seen with
        // forall's short tasks, a dozen tasks at once).
        new java.util.concurrent.ThreadPoolExecutor.DiscardPolicy());

    private RemoteExec(String node, Events events) {
        this.node = node;
        this.events = events;
    }

    /** Opens the stream and sends the first message ({@code start} or {@code attach}). */
    public static RemoteExec open(Channel channel, String node, ExecIn first, boolean attach, Events events) throws IOException {
        var r = new RemoteExec(node, events);
        r.detachedStart = first.hasStart() && first.getStart().getDetached();
        var method = ExecMarshallers.client(attach ? ExecGrpc.getAttachMethod() : ExecGrpc.getRunMethod());
        var options = CallOptions.DEFAULT.withOnReadyThreshold(ExecService.ON_READY_THRESHOLD).withExecutor(r.callbacks);
        ClientCalls.asyncBidiStreamingCall(channel.newCall(method, options), r.new Observer());
        r.sender.sendFirst(first);
        return r;
    }

    public String node() {
        return node;
    }

    /** Sends input; {@code data} is the caller's no more: it is sent without a copy, and may be read after this returns. */
    public void stdin(byte[] data, int off, int len) throws IOException {
        sender.send(ExecIn.newBuilder().setStdin(UnsafeByteOperations.unsafeWrap(data, off, len)).build());
    }

    public void stdinEof() throws IOException {
        sender.send(ExecIn.newBuilder().setStdinEof(true).build());
    }

    /** Ends the stream from this side; the execution node terminates a non-detached process. */
    public void cancel(String why) {
        var c = call;
        if (c != null) {
            c.cancel(why, null);
        }
        sender.fail(why);
    }

    /** The execution node is known dead (membership): end now with 255 rather than wait for TCP. */
    public void nodeLost() {
        end(255, "node " + node + " lost");
        cancel("node " + node + " lost");
    }

    private void end(int code, String reason) {
        if (ended.compareAndSet(false, true)) {
            events.exit(code, reason);
        }
    }

    private final class Observer implements ClientResponseObserver<ExecIn, ExecOut> {
        @Override
        public void beforeStart(ClientCallStreamObserver<ExecIn> requestStream) {
            call = requestStream;
            sender = new FlowSender<>(requestStream);
            // one message ahead: the next is deframed while this one is written to the client
            requestStream.disableAutoRequestWithInitial(2);
            requestStream.setOnReadyHandler(sender::onReady);
        }

        @Override
        public void onNext(ExecOut out) {
            try {
                switch (out.getKindCase()) {
                    case STARTED -> events.started(out.getStarted());
                    case STDOUT -> events.stdout(out.getStdout());
                    case STDERR -> events.stderr(out.getStderr());
                    case EXIT -> {
                        var x = out.getExit();
                        if (!x.getCwdAbsent()) {
                            end(x.getCode(), x.getReason());
                        } else if (ended.compareAndSet(false, true)) {
                            events.cwdAbsent(x.getReason());
                        }
                    }
                    default -> { }
                }
                call.request(1);
            } catch (IOException e) {
                // the client is gone: end the process
                cancel("client gone: " + e.getMessage());
            }
        }

        @Override
        public void onError(Throwable t) {
            callbacks.shutdown(); // the last callback of the stream: this one runs to its end
            sender.fail("stream failed");
            int code = 255;
            String reason = "node " + node + " lost";
            try {
                Status s = Status.fromThrowable(t);
                if (s.getCode() == Status.Code.CANCELLED) {
                    reason = "cancelled";
                } else {
                    if (s.getCode() != Status.Code.UNAVAILABLE) {
                        // not a node going away: say what it was, for whoever reads the log
                        LOG.log(Level.WARNING, "stream to " + node + " failed: " + s, t);
                    }
                    GestaltException g = GestaltException.fromStatus(t, node);
                    code = g.exitCode();
                    reason = g.getMessage();
                }
            } finally {
                end(code, reason); // whatever happens above, the waiting client gets an end
            }
        }

        @Override
        public void onCompleted() {
            callbacks.shutdown(); // the last callback of the stream: this one runs to its end
            sender.fail("completed");
            if (detachedStart) {
                end(0, "");
            } else {
                end(255, "node " + node + " ended the stream without an exit status");
            }
        }
    }
}

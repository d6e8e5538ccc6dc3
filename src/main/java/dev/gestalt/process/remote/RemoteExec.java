package dev.gestalt.process.remote;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.gestalt.rpc.FlowSender;
import dev.gestalt.rpc.GestaltException;
import dev.gestalt.rpc.proto.ExecGrpc;
import dev.gestalt.rpc.proto.ExecIn;
import dev.gestalt.rpc.proto.ExecOut;
import dev.gestalt.rpc.proto.Moved;
import dev.gestalt.rpc.proto.Resume;
import dev.gestalt.rpc.proto.Started;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ClientResponseObserver;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
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

    /** The channel to a node, for the stream to follow its process when it moves there. */
    @FunctionalInterface
    public interface Channels {
        Channel channel(String node) throws GestaltException;
    }

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

    private final Channels channels;
    private final String gpid;
    private final Events events;
    private final AtomicBoolean ended = new AtomicBoolean();
    /** The node the process runs on: another one after it moved. */
    private volatile String node;
    /** The stream to it: another one after it moved. */
    private volatile Observer stream;
    private volatile boolean detachedStart;
    /**
     * Input stops while the process moves (ExecOut.pause_input): everything sent until then must
     * reach the node it leaves, and nothing after, which then goes to the node it moved to.
     */
    private final ReentrantLock input = new ReentrantLock();
    private final Condition inputOpen = input.newCondition();
    private boolean inputPaused; // guarded by input
    /** See {@link #control}; only the streams' callbacks (one at a time) make it. */
    private volatile java.util.concurrent.ExecutorService control;
    /** Why this side ended the stream, if it did. */
    private volatile String cancelled;
    /** For {@code gestalt attach}: what it asked, to attach again where the process moves. */
    private volatile dev.gestalt.rpc.proto.AttachSpec attachment;

    private RemoteExec(Channels channels, String node, String gpid, Events events) {
        this.channels = channels;
        this.node = node;
        this.gpid = gpid;
        this.events = events;
    }

    /**
     * Opens the stream to {@code node} and sends the first message ({@code start} or
     * {@code attach}); {@code channels} gives the channel to it, and to the node the process
     * moves to, if it moves.
     */
    public static RemoteExec open(Channels channels, String node, ExecIn first, boolean attach, Events events)
            throws IOException, GestaltException {
        String gpid = first.hasStart() ? first.getStart().getGpid() : first.getAttach().getGpid();
        var r = new RemoteExec(channels, node, gpid, events);
        r.detachedStart = first.hasStart() && first.getStart().getDetached();
        r.attachment = first.hasAttach() ? first.getAttach() : null;
        r.connect(channels.channel(node), first, attach);
        return r;
    }

    private void connect(Channel channel, ExecIn first, boolean attach) throws IOException {
        var o = new Observer();
        var method = ExecMarshallers.client(attach ? ExecGrpc.getAttachMethod() : ExecGrpc.getRunMethod());
        var options = CallOptions.DEFAULT.withOnReadyThreshold(ExecService.ON_READY_THRESHOLD).withExecutor(o.callbacks);
        ClientCalls.asyncBidiStreamingCall(channel.newCall(method, options), o);
        stream = o;
        o.sender.sendFirst(first);
    }

    public String node() {
        return node;
    }

    /** Sends input; {@code data} is the caller's no more: it is sent without a copy, and may be read after this returns. */
    public void stdin(byte[] data, int off, int len) throws IOException {
        sendInput(ExecIn.newBuilder().setStdin(UnsafeByteOperations.unsafeWrap(data, off, len)).build());
    }

    public void stdinEof() throws IOException {
        sendInput(ExecIn.newBuilder().setStdinEof(true).build());
    }

    /**
     * Input, on the stream of the moment: it waits while the process moves. An attachment's input
     * is not paused before a move (a run's is): what is sent as its stream ends there, after the
     * process moved, goes to the stream that follows it instead of ending the client's input.
     */
    private void sendInput(ExecIn in) throws IOException {
        input.lock();
        try {
            while (true) {
                while (inputPaused) {
                    inputOpen.awaitUninterruptibly();
                }
                Observer o = stream;
                try {
                    o.sender.send(in);
                    return;
                } catch (IOException e) {
                    if (!o.moved) {
                        throw e;
                    }
                    while (stream == o && !ended.get()) { // moved() opens the next one, then says so
                        inputOpen.await(100, TimeUnit.MILLISECONDS);
                    }
                    if (ended.get()) {
                        throw e;
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while the process moved");
        } finally {
            input.unlock();
        }
    }

    /** Ends the stream from this side; the execution node terminates a non-detached process. */
    public void cancel(String why) {
        cancelled = why;
        Observer o = stream;
        var c = o.call;
        if (c != null) {
            c.cancel(why, null);
        }
        o.sender.fail(why);
        openInput(); // whatever waits to send input sees the stream failed
    }

    private void openInput() {
        input.lock();
        try {
            inputPaused = false;
            inputOpen.signalAll();
        } finally {
            input.unlock();
        }
    }

    /**
     * Runs the actions that pause, resume and move the input one after the other, in the order
     * they came, off the stream's thread (they may wait for a send under way, which may wait for
     * that thread). Made with the first of them: most processes never move.
     */
    private void control(Runnable action) {
        var c = control;
        if (c == null) {
            c = java.util.concurrent.Executors.newSingleThreadExecutor(Thread.ofVirtual().name("input-" + gpid).factory());
            control = c;
        }
        try {
            c.execute(action);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // ended already: nothing to pause or follow
        }
    }

    /**
     * The node the process runs on asks for no more input (it is about to move): once whatever is
     * being sent has gone, say so on the same stream, after it. Not on the stream's thread: a send
     * under way may be waiting for that thread to say the transport is ready.
     */
    private void pauseInput(Observer o) {
        control(() -> {
            input.lock();
            try {
                inputPaused = true;
                o.sender.send(ExecIn.newBuilder().setInputPaused(true).build());
            } catch (IOException e) {
                // the stream failed: its end says so
            } finally {
                input.unlock();
            }
        });
    }

    /**
     * The process moved to {@code m.node}: every byte of its output of before came on the old
     * stream; a new one to that node takes over, first with the input the process had not read.
     */
    private void moved(Moved m) {
        String target = m.getNode();
        ByteString unread = ByteString.copyFrom(m.getUnreadStdin().asReadOnlyByteBuffer()); // the message's buffer is reused
        boolean eof = m.getStdinEof();
        control(() -> {
            try {
                node = target;
                var a = attachment;
                if (a != null) { // an attachment follows the log on there, from where it was
                    connect(channels.channel(target), ExecIn.newBuilder().setAttach(a.toBuilder()
                        .setFollowFrom(m.getLog())).build(), true);
                } else {
                    connect(channels.channel(target), ExecIn.newBuilder().setResume(Resume.newBuilder().setGpid(gpid)
                        .setStdin(unread).setStdinEof(eof)).build(), false);
                }
                String why = cancelled;
                if (why != null) { // the client went away meanwhile
                    cancel(why);
                }
                LOG.fine(gpid + " moved to " + target + ": its stream follows it (" + unread.size() + " bytes of input unread)");
            } catch (IOException | GestaltException | RuntimeException e) {
                LOG.warning("cannot follow " + gpid + " to " + target + ": " + e.getMessage());
                end(255, "lost " + gpid + " after its move to " + target + ": " + e.getMessage());
            } finally {
                openInput();
            }
        });
    }

    /** The execution node is known dead (membership): end now with 255 rather than wait for TCP. */
    public void nodeLost() {
        end(255, "node " + node + " lost");
        cancel("node " + node + " lost");
    }

    private void end(int code, String reason) {
        if (ended.compareAndSet(false, true)) {
            var c = control;
            if (c != null) {
                c.shutdown();
            }
            events.exit(code, reason);
        }
    }

    /** One stream to the node the process runs on (a new one each time it moves). */
    private final class Observer implements ClientResponseObserver<ExecIn, ExecOut> {
        /**
         * The stream's callbacks, one at a time and in order (gRPC serialises them over the executor
         * it is given), on kept platform threads (IoThreads): the output handler blocks on the
         * client's socket.
         */
        final java.util.concurrent.Executor callbacks = IoThreads.executor();
        volatile ClientCallStreamObserver<ExecIn> call;
        volatile FlowSender<ExecIn> sender;
        /** The process moved: this stream's end is not the process's. */
        private volatile boolean moved;

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
                    case PAUSE_INPUT -> pauseInput(this);
                    case RESUME_INPUT -> control(RemoteExec.this::openInput);
                    case MOVED -> {
                        moved = true;
                        RemoteExec.this.moved(out.getMoved());
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
            sender.fail("stream failed");
            if (moved) {
                return; // the stream to where it runs now goes on
            }
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
            sender.fail("completed");
            if (moved) {
                return;
            }
            if (detachedStart) {
                end(0, "");
            } else {
                end(255, "node " + node + " ended the stream without an exit status");
            }
        }
    }
}

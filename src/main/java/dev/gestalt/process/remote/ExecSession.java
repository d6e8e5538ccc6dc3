package dev.gestalt.process.remote;

import com.google.protobuf.ByteString;
import dev.gestalt.process.Gpid;
import dev.gestalt.process.supervisor.Job;
import dev.gestalt.process.supervisor.LaunchException;
import dev.gestalt.rpc.FlowSender;
import dev.gestalt.rpc.proto.ExecIn;
import dev.gestalt.rpc.proto.ExecOut;
import dev.gestalt.rpc.proto.Exit;
import dev.gestalt.rpc.proto.Moved;
import dev.gestalt.rpc.proto.ProcessSpec;
import dev.gestalt.rpc.proto.Resume;
import dev.gestalt.rpc.proto.Started;
import dev.gestalt.security.GrpcTls;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Logger;

/**
 * One process's stream on its execution node ({@link ExecService}): the start (or, after a move
 * here, the home node taking the stream up again), the process's output to the stream until its
 * end, then its code, or where it moved. Its input is {@link SessionInput}'s. A stream that breaks
 * before the end was sent hangs the process up ({@link #streamBroken}).
 */
final class ExecSession implements StreamObserver<ExecIn> {

    private static final Logger LOG = Logger.getLogger(ExecSession.class.getName());
    /** Largest stdout/stderr message: a read(2) of the process's pipe (see {@code LocalJob.PIPE_SIZE}). */
    private static final int CHUNK = Integer.getInteger("gestalt.chunk", 256 * 1024);

    private final ExecService node;
    private final ServerCallStreamObserver<ExecOut> call;
    private final FlowSender<ExecOut> sender;
    private final SessionInput input;
    private volatile Job job;
    private volatile String home = "";
    private volatile boolean broken;
    private volatile boolean exitSent;
    private final AtomicBoolean terminating = new AtomicBoolean();
    /** What the home node learns at the end of the stream when the process moved. */
    private volatile Moved moved;

    ExecSession(ExecService node, ServerCallStreamObserver<ExecOut> call, FlowSender<ExecOut> sender) {
        this.node = node;
        this.call = call;
        this.sender = sender;
        this.input = new SessionInput(() -> call.request(1));
    }

    /** The job of this stream, once started (or taken up). */
    Job job() {
        return job;
    }

    /** The node whose client this stream serves. */
    String home() {
        return home;
    }

    @Override
    public void onNext(ExecIn in) {
        switch (in.getKindCase()) {
            // A platform thread (IoThreads): after the start it pumps the job's stdout (see serve)
            // the call's context (who the calling node is: RemoteStartPolicy) goes with the start
            case START -> IoThreads.start("exec-" + in.getStart().getGpid(),
                io.grpc.Context.current().wrap(() -> start(in.getStart())));
            case RESUME -> IoThreads.start("exec-" + in.getResume().getGpid(),
                io.grpc.Context.current().wrap(() -> resume(in.getResume())));
            case STDIN -> input.received(job, in.getStdin());
            case STDIN_EOF -> input.received(job, null);
            case INPUT_PAUSED -> {
                input.pauseAcknowledged();
                call.request(1);
            }
            default -> call.request(1);
        }
    }

    private void start(ProcessSpec spec) {
        home = spec.getHomeNode();
        String refused = node.refusal(spec);
        if (refused != null) {
            sendExit(Exit.newBuilder().setCode(255).setReason(refused));
            return;
        }
        if (node.cwdAbsent(spec)) {
            sendExit(Exit.newBuilder().setCode(255).setCwdAbsent(true)
                .setReason(node.name() + " has no folder " + spec.getCwd() + " (the working directory)"));
            return;
        }
        node.sessions().add(this);
        try {
            Job j = node.launch(spec);
            job = j;
            if (!j.detached()) {
                j.exit().whenComplete((c, t) -> input.stop());
            }
            sender.send(ExecOut.newBuilder().setStarted(Started.newBuilder()
                .setGpid(spec.getGpid()).setNode(node.name()).setPid(j.pid())).build());
            if (broken) {
                streamBroken();
                return;
            }
            call.request(2);
            if (j.detached()) {
                sender.complete();
                return;
            }
            serve(j);
        } catch (LaunchException e) {
            exitSent = true;
            try {
                sender.send(ExecOut.newBuilder().setStderr(ByteString.copyFromUtf8("gestalt: " + e.getMessage() + "\n")).build());
            } catch (IOException ignored) {
                // stream gone
            }
            sender.sendLast(ExecOut.newBuilder().setExit(Exit.newBuilder().setCode(e.exitCode())).build());
        } catch (Exception e) {
            failed("run " + spec.getGpid(), e, "cannot start on ");
        } finally {
            node.sessions().remove(this);
        }
    }

    /** A start or a take-up failed: 255 and why, to the home node, unless the stream itself is what failed. */
    private void failed(String what, Exception e, String reasonPrefix) {
        if (!sender.failed()) {
            LOG.warning(what + " failed: " + e);
            sendExit(Exit.newBuilder().setCode(255).setReason(reasonPrefix + node.name() + ": " + e.getMessage()));
        }
    }

    private void sendExit(Exit.Builder exit) {
        exitSent = true;
        sender.sendLast(ExecOut.newBuilder().setExit(exit).build());
    }

    /** An attached job's output to the stream until its end, then its code (or, if it moved, where). */
    private void serve(Job j) throws Exception {
        // Platform threads (IoThreads; this one pumps stdout)
        CompletableFuture<Void> err = IoThreads.start("stderr-" + j.gpid(), () -> pump(j, j.stderr(), false));
        pump(j, j.stdout(), true);
        if (broken || (j.detached() && !j.exit().isDone())) {
            return; // hung up (the stream broke): it goes on detached, and nobody waits for its end here
        }
        // the program ended and its output reached its end of file (whatever it started
        // closed it too), as `CMD | cat` and ssh return; or it moved, and its copy here is gone
        CompletableFuture.anyOf(j.exit(), j.movedTo()).get();
        err.get();
        Moved m = moved;
        if (m != null && j.movedTo().isDone()) {
            exitSent = true;
            sender.sendLast(ExecOut.newBuilder().setMoved(m).build()); // all of its output of before came first
            return;
        }
        sendExit(Exit.newBuilder().setCode(j.exit().get()));
        if (!j.end().isDone()) {
            j.closeStdin(); // what runs on reads the end of its input, as after ssh returned
            j.clientDone();
        }
    }

    /**
     * The home node opens the stream of an attached job again after the job moved here: only
     * that node (its certificate's id is the GPID's home), and only for a job that waits for it.
     */
    private void resume(Resume r) {
        Job j = node.awaitingHome().get(r.getGpid());
        var peer = GrpcTls.PEER.get();
        boolean sameNode = Boolean.TRUE.equals(GrpcTls.SAME_NODE.get());
        boolean fromHome = sameNode || (peer != null && peer.hasId() && Gpid.looksLike(r.getGpid())
            && peer.nodeId() == Gpid.parse(r.getGpid()).home());
        String refused = j == null ? r.getGpid() + ": no process that moved here waits for its home node"
            : !fromHome ? "only the home node of " + r.getGpid() + " may take up its stream" : null;
        if (refused != null || !node.awaitingHome().remove(r.getGpid(), j)) {
            sendExit(Exit.newBuilder().setCode(255).setReason(refused != null ? refused : r.getGpid() + " is taken up already"));
            return;
        }
        home = sameNode ? node.name() : peer.nodeName();
        LOG.info(r.getGpid() + " moved here: " + home + " takes up its stream"
            + (j.exit().isDone() ? " (its program ended already, code " + j.exit().join() + ")" : ""));
        node.sessions().add(this);
        try {
            job = j;
            node.forgetWhenDone(j);
            j.exit().whenComplete((c, t) -> input.stop());
            input.resumed(j, r);
            if (broken) {
                streamBroken();
                return;
            }
            call.request(2);
            serve(j);
        } catch (Exception e) {
            failed("resume " + r.getGpid(), e, "lost on ");
        } finally {
            node.sessions().remove(this);
        }
    }

    /**
     * The process is about to move: asks the home node to stop sending input, and waits for its
     * answer, after which every byte it sent is here (written to the process, or kept).
     */
    void pauseInput(long seconds) throws IOException {
        var ack = input.pause();
        try {
            sender.send(ExecOut.newBuilder().setPauseInput(true).build());
            // input queued here may hold every message asked for: ask for one more, and each
            // that comes while paused asks for the next, until the answer
            call.request(1);
            ack.get(seconds, TimeUnit.SECONDS);
        } catch (IOException | ExecutionException | TimeoutException e) {
            resumeInput();
            throw new IOException("its home node " + home + " did not pause its input within " + seconds + " s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            resumeInput();
            throw new IOException("interrupted");
        }
    }

    /** The move did not happen: input flows again, to the process here. */
    void resumeInput() {
        input.resume();
        try {
            sender.send(ExecOut.newBuilder().setResumeInput(true).build());
        } catch (IOException e) {
            // the stream is gone: its end says so
        }
    }

    /**
     * The process runs on {@code target} now; its copy here is frozen and about to go: the input it
     * did not read goes with it ({@link SessionInput#handOver}); the stream ends with that, once
     * the output of before the move has gone (see {@link #serve}).
     */
    void handOver(String target, SessionInput.UnreadInput unreadInPipe) throws IOException, InterruptedException {
        moved = input.handOver(target, unreadInPipe);
    }

    /** Output of the process to the stream (see {@link OutputPump}). */
    private void pump(Job j, InputStream in, boolean stdout) {
        OutputPump.run(in, CHUNK, b -> sender.send(stdout ? ExecOut.newBuilder().setStdout(b).build()
            : ExecOut.newBuilder().setStderr(b).build()), j::bulkIo);
    }

    /** The home node or its client is gone: the job is hung up (see {@link ExecService}). */
    void streamBroken() {
        broken = true;
        Job j = job;
        // once: a cancelled stream calls here from its cancel handler and from onError
        if (j == null || j.detached() || exitSent || !terminating.compareAndSet(false, true)) {
            return;
        }
        LOG.info("stream of " + j.gpid() + " broke: hanging it up (SIGHUP; if it lives on, it is detached)");
        j.hangUp();
        input.stop(); // its input ends with the stream: the writer thread goes
    }

    @Override
    public void onError(Throwable t) {
        sender.fail("stream failed: " + t.getMessage());
        streamBroken();
    }

    @Override
    public void onCompleted() {
        // the home node half-closed: nothing more will come; output still flows
    }
}

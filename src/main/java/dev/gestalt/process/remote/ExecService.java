package dev.gestalt.process.remote;

import com.google.protobuf.ByteString;
import dev.gestalt.os.Limit;
import dev.gestalt.process.placement.WorkingDirectories;
import dev.gestalt.process.Gpid;
import dev.gestalt.process.supervisor.Job;
import dev.gestalt.process.supervisor.LaunchException;
import dev.gestalt.process.supervisor.LaunchSpec;
import dev.gestalt.process.supervisor.Supervisor;
import dev.gestalt.rpc.FlowSender;
import dev.gestalt.rpc.GestaltException;
import dev.gestalt.rpc.proto.ExecGrpc;
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
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Logger;

/**
 * The execution node's side of {@code run}: starts the process the home node
 * asks for and streams its stdio with gRPC flow control in both directions
 * (a process that does not read stdin slows the sender; a client that does
 * not read stdout slows the process). A stream that breaks before the exit
 * status was sent hangs the process up, as a dropped ssh session does: SIGHUP
 * to its group, and if it survives that it goes on detached, its further
 * output in its log files ({@link Job#hangUp()}).
 */
public final class ExecService extends ExecGrpc.ExecImplBase {

    private static final Logger LOG = Logger.getLogger(ExecService.class.getName());
    /** Largest stdout/stderr message: a read(2) of the process's pipe (see {@code LocalJob.PIPE_SIZE}). */
    private static final int CHUNK = Integer.getInteger("gestalt.chunk", 256 * 1024);
    /** Bytes gRPC may queue before a sender waits: a few chunks, so the pipe stays full without growing. */
    static final int ON_READY_THRESHOLD = 1 << 20;
    private static final Object STDIN_EOF = new Object();
    private static final Object STDIN_STOP = new Object();

    private final String nodeName;
    private final Supervisor supervisor;
    private final AttachHandler attach;
    private final RemoteStartPolicy remoteStarts;
    private final WorkingDirectories.Here folders;
    private final Draining draining;
    private final java.util.Set<Session> sessions = java.util.concurrent.ConcurrentHashMap.newKeySet();
    /** How long an attached job that moved here waits for its home node to take up its stream. */
    static final long HOME_SECONDS = 60;
    private final java.util.Map<String, Job> awaitingHome = new java.util.concurrent.ConcurrentHashMap<>();

    /** Takes what waits unread in a frozen process's stdin pipe (see Supervisor#takeUnreadInput). */
    @FunctionalInterface
    interface UnreadInput {
        byte[] take() throws IOException;
    }

    /** Input kept while a process moved: written without asking the stream for more (it was asked for already). */
    private record Prepaid(Object item) {}

    /** The processes checkpointed periodically, this node's and those that come (see CheckpointReceiver). */
    final CheckpointTimer checkpoints;

    public ExecService(String nodeName, Supervisor supervisor) {
        this(nodeName, supervisor, RemoteStartPolicy.NONROOT, WorkingDirectories.Here.EVERYWHERE, Draining.NEVER,
            CheckpointTimer.NONE);
    }

    /**
     * @param remoteStarts which uids other nodes may start processes as here
     * @param folders whether this node has a working directory, for a start that asks ({@code check_cwd})
     * @param draining whether the node is drained: it then starts nothing for other nodes
     * @param checkpoints the processes checkpointed periodically (run --checkpoint-every)
     */
    public ExecService(String nodeName, Supervisor supervisor, RemoteStartPolicy remoteStarts, WorkingDirectories.Here folders,
                       Draining draining, CheckpointTimer checkpoints) {
        this.checkpoints = checkpoints;
        this.nodeName = nodeName;
        this.supervisor = supervisor;
        this.attach = new AttachHandler(supervisor);
        this.remoteStarts = remoteStarts;
        this.folders = folders;
        this.draining = draining;
    }

    /** The service for the network, with stdin parsed by {@link ExecMarshallers} (one copy of the bytes, not two). */
    public io.grpc.ServerServiceDefinition definition() {
        return ExecMarshallers.server(bindService());
    }

    @Override
    public StreamObserver<ExecIn> run(StreamObserver<ExecOut> responses) {
        var call = (ServerCallStreamObserver<ExecOut>) responses;
        call.disableAutoRequest();
        call.setOnReadyThreshold(ON_READY_THRESHOLD);
        var sender = new FlowSender<>(call);
        var session = new Session(call, sender);
        call.setOnReadyHandler(sender::onReady);
        call.setOnCancelHandler(() -> {
            sender.fail("stream cancelled");
            session.streamBroken();
        });
        call.request(1);
        return session;
    }

    /**
     * An attached job is forgotten when it ends, its last process (its client got the code); a
     * detached one (or one hung up, detached by then) stays listed a while (see {@link Supervisor#jobs()}).
     */
    private void forgetWhenDone(Job j) {
        j.end().whenComplete((code, t) -> {
            if (!j.detached()) {
                supervisor.remove(j.gpid());
            }
        });
    }

    /**
     * An attached job that moved here (its copy on the node it left is gone): its home node opens
     * its stream again ({@code resume}). A job no home node takes up within {@value #HOME_SECONDS}
     * s is hung up, as after a lost connection: SIGHUP, and detached if it lives on.
     */
    void awaitHome(Job j, String homeId) {
        awaitingHome.put(j.gpid(), j);
        Thread.ofVirtual().name("await-home-" + j.gpid()).start(() -> {
            try {
                Thread.sleep(TimeUnit.SECONDS.toMillis(HOME_SECONDS));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (awaitingHome.remove(j.gpid(), j)) {
                LOG.warning(j.gpid() + " moved here, and its home node (id " + homeId + ") did not take up its stream: hung up");
                j.hangUp();
            }
        });
    }

    /** Before {@code gpid} moves: its attach clients stop sending input (see {@link AttachHandler#pauseInput}). */
    List<AttachHandler.Attachment> pauseAttachments(String gpid, long millis) {
        return attach.pauseInput(gpid, millis);
    }

    /** The stream of the attached job {@code gpid} here, if it has one. */
    Optional<Session> session(String gpid) {
        for (Session s : sessions) {
            Job j = s.job;
            if (j != null && j.gpid().equals(gpid)) {
                return Optional.of(s);
            }
        }
        return Optional.empty();
    }

    /** Membership says these home nodes are gone: end their processes as if their streams broke. */
    public void homesLost(java.util.Set<String> homes) {
        for (Session s : sessions) {
            if (homes.contains(s.home)) {
                s.streamBroken();
            }
        }
    }

    @Override
    public StreamObserver<ExecIn> attach(StreamObserver<ExecOut> responses) {
        return attach.open((ServerCallStreamObserver<ExecOut>) responses);
    }

    /** One process's stream. */
    final class Session implements StreamObserver<ExecIn> {
        private final ServerCallStreamObserver<ExecOut> call;
        private final FlowSender<ExecOut> sender;
        private volatile Job job;
        private volatile String home = "";
        private volatile boolean broken;
        private volatile boolean exitSent;
        private final AtomicBoolean terminating = new AtomicBoolean();
        /**
         * Input for the process, written by a thread of its own so that a process that does not
         * read never blocks the stream's callbacks; one message is requested ahead (at most two
         * are queued), so the next is on its way while one is written.
         */
        private final LinkedBlockingQueue<Object> stdin = new LinkedBlockingQueue<>();
        /** Started with the first input (stream callbacks come one at a time: no lock needed). */
        private volatile Thread stdinWriter;
        /**
         * While the process moves: input is kept, not written ({@link #pauseInput}); the writer is
         * {@code writing} while in a write to the pipe; once {@code handedOver}, what it holds and
         * what is queued belong to the node the process went to ({@link #handOver}).
         */
        private final Object writeLock = new Object();
        private boolean paused;
        private boolean writing;
        private boolean handedOver;
        private final List<Object> leftover = new ArrayList<>();
        private volatile CompletableFuture<Void> pausedAck;
        private volatile boolean eofWritten;
        /** What the home node learns at the end of the stream when the process moved. */
        private volatile Moved moved;

        Session(ServerCallStreamObserver<ExecOut> call, FlowSender<ExecOut> sender) {
            this.call = call;
            this.sender = sender;
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
                case STDIN, STDIN_EOF -> {
                    Job j = job;
                    Object item = in.getKindCase() == ExecIn.KindCase.STDIN ? in.getStdin() : STDIN_EOF;
                    boolean pausedNow;
                    synchronized (writeLock) {
                        pausedNow = paused;
                    }
                    if (j == null || j.detached()) {
                        call.request(1); // nobody reads it (a detached job's stdin is /dev/null)
                    } else if (pausedNow) {
                        // the process is moving: kept for wherever it runs next; the home node's
                        // answer (input_paused) is still to come after it
                        stdin.add(new Prepaid(item));
                        call.request(1);
                    } else if (item == STDIN_EOF && stdinWriter == null) {
                        // no input before the EOF (forall's tasks, `run < /dev/null`): no writer thread
                        j.closeStdin();
                        eofWritten = true;
                        call.request(1);
                    } else {
                        startWriter(j);
                        stdin.add(item);
                    }
                }
                case INPUT_PAUSED -> {
                    var ack = pausedAck;
                    if (ack != null) {
                        ack.complete(null);
                    }
                    call.request(1);
                }
                default -> call.request(1);
            }
        }

        private void start(ProcessSpec spec) {
            home = spec.getHomeNode();
            String refused = draining.on() ? draining.refusal(nodeName) : null;
            try {
                remoteStarts.check(nodeName, spec);
            } catch (GestaltException.PermissionDenied e) {
                refused = e.getMessage();
            }
            if (refused != null) {
                exitSent = true;
                sender.sendLast(ExecOut.newBuilder().setExit(Exit.newBuilder().setCode(255).setReason(refused)).build());
                return;
            }
            if (spec.getCheckCwd() && folders.absent(spec.getCwd(), spec.getCaller().getUid(), spec.getCaller().getGid(),
                    spec.getGroupsList().stream().mapToInt(Integer::intValue).toArray())) {
                exitSent = true;
                sender.sendLast(ExecOut.newBuilder().setExit(Exit.newBuilder().setCode(255).setCwdAbsent(true)
                    .setReason(nodeName + " has no folder " + spec.getCwd() + " (the working directory)")).build());
                return;
            }
            sessions.add(this);
            try {
                Job j = supervisor.start(toLaunchSpec(spec));
                job = j;
                if (j.detached()) {
                    checkpoints.every(j, spec.getCheckpointEverySeconds());
                }
                forgetWhenDone(j);
                if (!j.detached()) {
                    j.exit().whenComplete((c, t) -> stdin.add(STDIN_STOP));
                }
                sender.send(ExecOut.newBuilder().setStarted(Started.newBuilder()
                    .setGpid(spec.getGpid()).setNode(nodeName).setPid(j.pid())).build());
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
                if (!sender.failed()) {
                    LOG.warning("run " + spec.getGpid() + " failed: " + e);
                    exitSent = true;
                    sender.sendLast(ExecOut.newBuilder().setExit(Exit.newBuilder().setCode(255)
                        .setReason("cannot start on " + nodeName + ": " + e.getMessage())).build());
                }
            } finally {
                sessions.remove(this);
            }
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
            int code = j.exit().get();
            exitSent = true;
            sender.sendLast(ExecOut.newBuilder().setExit(Exit.newBuilder().setCode(code)).build());
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
            Job j = awaitingHome.get(r.getGpid());
            var peer = GrpcTls.PEER.get();
            boolean sameNode = Boolean.TRUE.equals(GrpcTls.SAME_NODE.get());
            boolean fromHome = sameNode || (peer != null && peer.hasId() && Gpid.looksLike(r.getGpid())
                && peer.nodeId() == Gpid.parse(r.getGpid()).home());
            String refused = j == null ? r.getGpid() + ": no process that moved here waits for its home node"
                : !fromHome ? "only the home node of " + r.getGpid() + " may take up its stream" : null;
            if (refused != null || !awaitingHome.remove(r.getGpid(), j)) {
                exitSent = true;
                sender.sendLast(ExecOut.newBuilder().setExit(Exit.newBuilder().setCode(255)
                    .setReason(refused != null ? refused : r.getGpid() + " is taken up already")).build());
                return;
            }
            home = sameNode ? nodeName : peer.nodeName();
            sessions.add(this);
            try {
                job = j;
                forgetWhenDone(j);
                j.exit().whenComplete((c, t) -> stdin.add(STDIN_STOP));
                // the input it had not read where it was comes first (no credit asked for it)
                if (!r.getStdin().isEmpty()) {
                    stdin.add(new Prepaid(r.getStdin()));
                }
                if (r.getStdinEof()) {
                    stdin.add(new Prepaid(STDIN_EOF));
                }
                if (!stdin.isEmpty()) {
                    startWriter(j);
                }
                if (broken) {
                    streamBroken();
                    return;
                }
                call.request(2);
                serve(j);
            } catch (Exception e) {
                if (!sender.failed()) {
                    LOG.warning("resume " + r.getGpid() + " failed: " + e);
                    exitSent = true;
                    sender.sendLast(ExecOut.newBuilder().setExit(Exit.newBuilder().setCode(255)
                        .setReason("lost on " + nodeName + ": " + e.getMessage())).build());
                }
            } finally {
                sessions.remove(this);
            }
        }

        private void startWriter(Job j) {
            if (stdinWriter == null) {
                stdinWriter = Thread.ofPlatform().daemon().name("stdin-" + j.gpid()).start(() -> writeStdin(j));
            }
        }

        /**
         * The process is about to move: asks the home node to stop sending input, and waits for its
         * answer, after which every byte it sent is here (written to the process, or kept).
         */
        void pauseInput(long seconds) throws IOException {
            synchronized (writeLock) {
                paused = true;
            }
            var ack = new CompletableFuture<Void>();
            pausedAck = ack;
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
            synchronized (writeLock) {
                paused = false;
                writeLock.notifyAll();
            }
            try {
                sender.send(ExecOut.newBuilder().setResumeInput(true).build());
            } catch (IOException e) {
                // the stream is gone: its end says so
            }
        }

        /**
         * The process runs on {@code target} now; its copy here is frozen and about to go. Collects
         * the input it did not read, in order: what waits in its pipe ({@code unreadInPipe} takes
         * it out), then what the writer holds and what is queued; the stream ends with that, once
         * the output of before the move has gone (see {@link #serve}).
         */
        void handOver(String target, UnreadInput unreadInPipe) throws IOException, InterruptedException {
            var unread = ByteString.newOutput();
            while (true) {
                unread.write(unreadInPipe.take()); // room in the pipe: a write under way can end
                synchronized (writeLock) {
                    if (!writing) {
                        handedOver = true;
                        writeLock.notifyAll();
                        break;
                    }
                    writeLock.wait(20);
                }
            }
            unread.write(unreadInPipe.take()); // what the last write put there
            stdin.add(STDIN_STOP); // wakes a writer that waits for input
            Thread w = stdinWriter;
            if (w != null) {
                w.join(TimeUnit.SECONDS.toMillis(5));
            }
            List<Object> rest = new ArrayList<>();
            synchronized (writeLock) {
                rest.addAll(leftover);
            }
            stdin.drainTo(rest);
            boolean eof = eofWritten;
            for (Object o : rest) {
                Object item = o instanceof Prepaid p ? p.item() : o;
                if (item == STDIN_EOF) {
                    eof = true;
                } else if (item instanceof ByteString b && !eof) {
                    unread.write(b.toByteArray());
                }
            }
            moved = Moved.newBuilder().setNode(target).setUnreadStdin(unread.toByteString()).setStdinEof(eof).build();
        }

        /** Output of the process to the stream (see {@link OutputPump}). */
        private void pump(Job j, InputStream in, boolean stdout) {
            OutputPump.run(in, CHUNK, b -> sender.send(stdout ? ExecOut.newBuilder().setStdout(b).build()
                : ExecOut.newBuilder().setStderr(b).build()), j::bulkIo);
        }

        /** Until the job ends: queued input to the process, then the next message requested. */
        private void writeStdin(Job j) {
            try {
                while (true) {
                    Object o = stdin.take();
                    synchronized (writeLock) {
                        while (paused && !handedOver && o != STDIN_STOP) {
                            writeLock.wait(); // the process is moving: nothing more into its pipe here
                        }
                        if (handedOver) {
                            if (o != STDIN_STOP) {
                                leftover.add(o); // for the node it went to
                            }
                            return;
                        }
                        if (o == STDIN_STOP) {
                            return;
                        }
                        writing = true;
                    }
                    Object item = o instanceof Prepaid p ? p.item() : o;
                    try {
                        if (item == STDIN_EOF) {
                            j.closeStdin();
                            eofWritten = true;
                        } else {
                            if (((ByteString) item).size() >= OutputPump.BULK) {
                                j.bulkIo();
                            }
                            try {
                                ((ByteString) item).writeTo(j.stdin());
                                j.stdin().flush();
                            } catch (IOException e) {
                                // the process closed its stdin: drop input, as a pipe to a dead reader would
                            }
                        }
                    } finally {
                        synchronized (writeLock) {
                            writing = false;
                            writeLock.notifyAll();
                        }
                    }
                    if (!(o instanceof Prepaid)) {
                        call.request(1);
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        /** The home node or its client is gone: the job is hung up (see the class comment). */
        void streamBroken() {
            broken = true;
            Job j = job;
            // once: a cancelled stream calls here from its cancel handler and from onError
            if (j == null || j.detached() || exitSent || !terminating.compareAndSet(false, true)) {
                return;
            }
            LOG.info("stream of " + j.gpid() + " broke: hanging it up (SIGHUP; if it lives on, it is detached)");
            j.hangUp();
            stdin.add(STDIN_STOP); // its input ends with the stream: the writer thread goes
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

    /**
     * The job as the home node asked for it, with its own identity in its environment, as Slurm
     * sets SLURM_JOB_ID: GESTALT_GPID, GESTALT_NODE (this execution node), GESTALT_HOME_NODE.
     */
    LaunchSpec toLaunchSpec(ProcessSpec s) {
        List<Limit> limits = new ArrayList<>();
        for (var l : s.getLimitsList()) {
            limits.add(new Limit(l.getResource(), l.getSoft(), l.getHard()));
        }
        int[] groups = s.getGroupsList().stream().mapToInt(Integer::intValue).toArray();
        var env = new java.util.HashMap<>(s.getEnvMap());
        env.put("GESTALT_GPID", s.getGpid());
        env.put("GESTALT_NODE", nodeName);
        env.put("GESTALT_HOME_NODE", s.getHomeNode());
        return new LaunchSpec(s.getGpid(), s.getArgvList(), env, Path.of(s.getCwd()),
            s.getCaller().getUid(), s.getCaller().getGid(), groups, s.getCaller().getUser(), s.getUmask(), limits,
            s.getTty(), s.getSize().getCols(), s.getSize().getRows(), s.getDetached(), !s.getNoMigrate(), s.getPinned());
    }
}

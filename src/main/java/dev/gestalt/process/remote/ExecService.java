package dev.gestalt.process.remote;

import com.google.protobuf.ByteString;
import dev.gestalt.os.Limit;
import dev.gestalt.process.placement.WorkingDirectories;
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
import dev.gestalt.rpc.proto.ProcessSpec;
import dev.gestalt.rpc.proto.Started;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
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

    public ExecService(String nodeName, Supervisor supervisor) {
        this(nodeName, supervisor, RemoteStartPolicy.NONROOT, WorkingDirectories.Here.EVERYWHERE, Draining.NEVER);
    }

    /**
     * @param remoteStarts which uids other nodes may start processes as here
     * @param folders whether this node has a working directory, for a start that asks ({@code check_cwd})
     * @param draining whether the node is drained: it then starts nothing for other nodes
     */
    public ExecService(String nodeName, Supervisor supervisor, RemoteStartPolicy remoteStarts, WorkingDirectories.Here folders,
                       Draining draining) {
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
    private final class Session implements StreamObserver<ExecIn> {
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
        private Thread stdinWriter;

        Session(ServerCallStreamObserver<ExecOut> call, FlowSender<ExecOut> sender) {
            this.call = call;
            this.sender = sender;
        }

        @Override
        public void onNext(ExecIn in) {
            switch (in.getKindCase()) {
                // A platform thread: after the start it pumps the job's stdout (see start)
                // the call's context (who the calling node is: RemoteStartPolicy) goes with the start
                case START -> Thread.ofPlatform().daemon().name("exec-" + in.getStart().getGpid())
                    .start(io.grpc.Context.current().wrap(() -> start(in.getStart())));
                case STDIN, STDIN_EOF -> {
                    Job j = job;
                    if (j == null || j.detached()) {
                        call.request(1); // nobody reads it (a detached job's stdin is /dev/null)
                    } else if (in.getKindCase() == ExecIn.KindCase.STDIN_EOF && stdinWriter == null) {
                        // no input before the EOF (forall's tasks, `run < /dev/null`): no writer thread
                        j.closeStdin();
                        call.request(1);
                    } else {
                        if (stdinWriter == null) {
                            stdinWriter = Thread.ofPlatform().daemon().name("stdin-" + j.gpid()).start(() -> writeStdin(j));
                        }
                        stdin.add(in.getKindCase() == ExecIn.KindCase.STDIN ? in.getStdin() : STDIN_EOF);
                    }
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
                // Platform threads (this one pumps stdout): a virtual thread blocked in a pipe read pins its carrier and
                // makes the scheduler compensate with another one, on every read.
                Thread err = Thread.ofPlatform().daemon().name("stderr-" + spec.getGpid()).start(() -> pump(j, j.stderr(), false));
                pump(j, j.stdout(), true);
                if (broken || (j.detached() && !j.exit().isDone())) {
                    return; // hung up (the stream broke): it goes on detached, and nobody waits for its end here
                }
                // the program ended and its output reached its end of file (whatever it started
                // closed it too), as `CMD | cat` and ssh return
                int code = j.exit().get();
                err.join();
                exitSent = true;
                sender.sendLast(ExecOut.newBuilder().setExit(Exit.newBuilder().setCode(code)).build());
                if (!j.end().isDone()) {
                    j.closeStdin(); // what runs on reads the end of its input, as after ssh returned
                    j.clientDone();
                }
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
                    if (o == STDIN_STOP) {
                        return;
                    }
                    if (o == STDIN_EOF) {
                        j.closeStdin();
                    } else {
                        if (((ByteString) o).size() >= OutputPump.BULK) {
                            j.bulkIo();
                        }
                        try {
                            ((ByteString) o).writeTo(j.stdin());
                            j.stdin().flush();
                        } catch (IOException e) {
                            // the process closed its stdin: drop input, as a pipe to a dead reader would
                        }
                    }
                    call.request(1);
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
            s.getTty(), s.getSize().getCols(), s.getSize().getRows(), s.getDetached(), !s.getNoMigrate());
    }
}

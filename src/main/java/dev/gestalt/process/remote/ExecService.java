package dev.gestalt.process.remote;

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
import dev.gestalt.rpc.proto.ProcessSpec;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
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
    /** Bytes gRPC may queue before a sender waits: a few chunks, so the pipe stays full without growing. */
    static final int ON_READY_THRESHOLD = 1 << 20;

    private final String nodeName;
    private final Supervisor supervisor;
    private final AttachHandler attach;
    private final RemoteStartPolicy remoteStarts;
    private final WorkingDirectories.Here folders;
    private final Draining draining;
    private final java.util.Set<ExecSession> sessions = java.util.concurrent.ConcurrentHashMap.newKeySet();
    /** How long an attached job that moved here waits for its home node to take up its stream. */
    static final long HOME_SECONDS = 60;
    private final java.util.Map<String, Job> awaitingHome = new java.util.concurrent.ConcurrentHashMap<>();

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
        var session = new ExecSession(this, call, sender);
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
    void forgetWhenDone(Job j) {
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
    Optional<ExecSession> session(String gpid) {
        for (ExecSession s : sessions) {
            Job j = s.job();
            if (j != null && j.gpid().equals(gpid)) {
                return Optional.of(s);
            }
        }
        return Optional.empty();
    }

    /** Membership says these home nodes are gone: end their processes as if their streams broke. */
    public void homesLost(java.util.Set<String> homes) {
        for (ExecSession s : sessions) {
            if (homes.contains(s.home())) {
                s.streamBroken();
            }
        }
    }

    @Override
    public StreamObserver<ExecIn> attach(StreamObserver<ExecOut> responses) {
        return attach.open((ServerCallStreamObserver<ExecOut>) responses);
    }

    /** Why this node does not start {@code spec} for the node that asks (draining, or whom it starts), or null. */
    String refusal(ProcessSpec spec) {
        String refused = draining.on() ? draining.refusal(nodeName) : null;
        try {
            remoteStarts.check(nodeName, spec);
        } catch (GestaltException.PermissionDenied e) {
            refused = e.getMessage();
        }
        return refused;
    }

    /** Whether the working directory of a start that asks for the check ({@code check_cwd}) is missing here. */
    boolean cwdAbsent(ProcessSpec spec) {
        return spec.getCheckCwd() && folders.absent(spec.getCwd(), spec.getCaller().getUid(), spec.getCaller().getGid(),
            spec.getGroupsList().stream().mapToInt(Integer::intValue).toArray());
    }

    /** Starts the process {@code spec} asks for, checkpointed as it asks, and forgotten when it is done. */
    Job launch(ProcessSpec spec) throws LaunchException {
        Job j = supervisor.start(toLaunchSpec(spec));
        if (j.detached()) {
            checkpoints.every(j, spec.getCheckpointEverySeconds());
        }
        forgetWhenDone(j);
        return j;
    }

    String name() {
        return nodeName;
    }

    /** The streams of this node's attached processes. */
    java.util.Set<ExecSession> sessions() {
        return sessions;
    }

    /** Attached processes that moved here, until their home node takes up their stream ({@link #awaitHome}). */
    java.util.Map<String, Job> awaitingHome() {
        return awaitingHome;
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

package dev.gestalt.process.remote;

import dev.gestalt.process.EventLog;
import dev.gestalt.process.Gpid;
import dev.gestalt.process.ProcessSpace;
import dev.gestalt.process.checkpoint.CheckpointStore;
import dev.gestalt.cluster.Migration;
import dev.gestalt.process.supervisor.Job;
import dev.gestalt.process.supervisor.LaunchException;
import dev.gestalt.process.supervisor.LogStream;
import dev.gestalt.process.supervisor.Moves;
import dev.gestalt.process.supervisor.Restores;
import dev.gestalt.process.supervisor.Supervisor;
import dev.gestalt.rpc.proto.CheckpointMeta;
import dev.gestalt.rpc.proto.CheckpointsGrpc;
import dev.gestalt.rpc.proto.ForgetRequest;
import dev.gestalt.rpc.proto.ForgetReply;
import dev.gestalt.rpc.proto.MovingJob;
import dev.gestalt.rpc.proto.RestartReply;
import dev.gestalt.rpc.proto.RestartRequest;
import dev.gestalt.rpc.proto.TakeReply;
import dev.gestalt.rpc.proto.TakeRequest;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * Checkpoint/restart (see {@link CheckpointStore}). The node a process runs on checkpoints it:
 * freezes it (CRIU), seals its images and its log into the file space, then lets it run on or
 * kills it. Any node restarts a checkpoint: unseals it into a folder of root's, restores the
 * process with its GPID (stopped until the kernel confirms it runs as the uid the checkpoint
 * names, as a move does), and tells its home node where it runs. A checkpoint is restored as
 * root, so a node restarts one made elsewhere only when its {@code remote_uids} lets other nodes
 * start processes as root, as for a move.
 */
public final class CheckpointService extends CheckpointsGrpc.CheckpointsImplBase {
    private static final Logger LOG = Logger.getLogger(CheckpointService.class.getName());

    private final String nodeName;
    private final Supervisor supervisor;
    private final Supplier<ProcessSpace> space;
    private final Supplier<Migration> self;
    private final RemoteStartPolicy remoteStarts;
    private final CheckpointFolders folders;
    private final Draining draining;
    private final EventLog events;
    private final CheckpointStore store;
    private final CheckpointTimer timer;
    /** Periodic checkpoints kept per process (older ones are removed). */
    static final int PERIODIC_KEPT = 2;
    /**
     * Checkpoints a user other than root may keep (besides periodic ones, which are bounded per
     * process): they are written by root, so no quota of the user's counts them.
     */
    static final int PER_USER = 32;

    public CheckpointService(String nodeName, Supervisor supervisor, Supplier<ProcessSpace> space, Supplier<Migration> self,
                             RemoteStartPolicy remoteStarts, Path stateDir, Draining draining, EventLog events,
                             CheckpointStore store, CheckpointTimer timer) {
        this.timer = timer;
        timer.taker(this::periodic, this::removePeriodic);
        this.nodeName = nodeName;
        this.supervisor = supervisor;
        this.space = space;
        this.self = self;
        this.remoteStarts = remoteStarts;
        this.folders = new CheckpointFolders(stateDir);
        this.draining = draining;
        this.events = events;
        this.store = store;
    }

    @Override
    public void take(TakeRequest req, StreamObserver<TakeReply> out) {
        Job j = supervisor.find(req.getGpid()).orElseThrow(() -> Permissions.notFound(req.getGpid()));
        Permissions.check(req.getCaller(), j);
        out.onNext(take(j, req.getLeaveRunning(), false));
        out.onCompleted();
    }

    /**
     * run --checkpoint-every: one more checkpoint of {@code gpid}, leaving it running, and only
     * the last {@value #PERIODIC_KEPT} periodic ones kept. False when it no longer runs here.
     */
    private boolean periodic(String gpid) {
        Job j = supervisor.find(gpid).orElse(null);
        if (j == null || j.end().isDone()) {
            return false;
        }
        TakeReply r = take(j, true, true);
        if (j.end().isDone()) { // it ended as it was taken: nothing to restart it from
            removePeriodic(gpid);
            return false;
        }
        if (!r.getError().isEmpty()) {
            LOG.warning("periodic checkpoint: " + r.getError());
            return true;
        }
        try {
            List<String> damaged = new java.util.ArrayList<>();
            List<CheckpointStore.Entry> mine = store.list(damaged, gpid).stream()
                .filter(e -> e.meta().getPeriodic() && e.meta().getJob().getGpid().equals(gpid)).toList();
            for (int i = 0; i < mine.size() - PERIODIC_KEPT; i++) {
                store.remove(mine.get(i).meta().getName());
            }
        } catch (IOException e) {
            LOG.warning("periodic checkpoints of " + gpid + ": the older ones could not be removed: " + e.getMessage());
        }
        return true;
    }

    /** Why user {@code uid} may take no more checkpoints ({@link #PER_USER}), or null. */
    private String overQuota(int uid) {
        if (uid == 0) {
            return null;
        }
        try {
            long kept = store.keptBy(uid);
            return kept < PER_USER ? null : "uid " + uid + " keeps " + kept + " checkpoints, the most a user may"
                + " (remove some: gestalt checkpoints rm NAME...)";
        } catch (IOException e) {
            return null; // the store says why when it is written to
        }
    }

    /** A process checkpointed periodically ended: its periodic checkpoints go (nothing to restart it from). */
    private void removePeriodic(String gpid) {
        try {
            for (var e : store.list(new java.util.ArrayList<>(), gpid)) {
                if (e.meta().getPeriodic() && e.meta().getJob().getGpid().equals(gpid)) {
                    store.remove(e.meta().getName());
                }
            }
        } catch (IOException e) {
            LOG.warning("the periodic checkpoints of " + gpid + ", which ended, could not be removed: " + e.getMessage());
        }
    }

    private TakeReply take(Job j, boolean leaveRunning, boolean periodic) {
        String gpid = j.gpid();
        String why = supervisor.moves().cannotMove(j);
        Migration m = self.get();
        if (why == null && !m.available()) {
            why = nodeName + " cannot checkpoint processes: " + m.detail();
        }
        if (why == null && !periodic) {
            why = overQuota(j.spec().uid());
        }
        if (why != null) {
            return TakeReply.newBuilder().setError(why).build();
        }
        Path images = null;
        try {
            images = folders.create("ckpt-" + gpid);
            String name = store.nextName(gpid);
            long t0 = System.nanoTime();
            Moves.Checkpoint c = supervisor.moves().checkpoint(gpid, images, null);
            CheckpointMeta meta;
            try { // its log as it is now, frozen: the log it goes on from when restarted
                if (j.spec().detached()) {
                    var logs = j.logs();
                    // as they are: a link there is copied as a link, which the sealing leaves out
                    java.nio.file.Files.copy(logs.path(LogStream.STDOUT), images.resolve("stdout"), java.nio.file.LinkOption.NOFOLLOW_LINKS);
                    java.nio.file.Files.copy(logs.path(LogStream.STDERR), images.resolve("stderr"), java.nio.file.LinkOption.NOFOLLOW_LINKS);
                } else { // an attached one's output went to its client: restarted, it writes a log from there
                    java.nio.file.Files.createFile(images.resolve("stdout"));
                    java.nio.file.Files.createFile(images.resolve("stderr"));
                }
                meta = CheckpointMeta.newBuilder().setName(name)
                    .setJob(MovingJobs.describe(j).toBuilder().mergeFrom(MovingJobs.descriptors(c).build())
                        .setCheckpointEverySeconds(timer.seconds(gpid)))
                    .setCreatedEpochMillis(System.currentTimeMillis()).setNode(nodeName).setStopped(!leaveRunning)
                    .setPeriodic(periodic).build();
            } catch (IOException | RuntimeException e) {
                supervisor.moves().resume(c);
                throw e;
            }
            long frozen = 0;
            if (leaveRunning) { // it runs on while its checkpoint is sealed into the file space
                supervisor.moves().resume(c);
                frozen = MigrateService.millis(t0, System.nanoTime());
            }
            long bytes;
            try {
                bytes = store.write(meta, images);
            } catch (IOException | RuntimeException e) {
                if (!leaveRunning) {
                    supervisor.moves().resume(c); // not saved: it must not be stopped
                }
                throw e;
            }
            if (!leaveRunning) {
                supervisor.moves().stop(c);
                frozen = MigrateService.millis(t0, System.nanoTime());
            }
            events.record("checkpoint", gpid, "checkpoint " + name + " of " + gpid + " on " + nodeName + " ("
                + bytes / 1_000_000 + " MB)" + (leaveRunning ? "" : "; the process was stopped"));
            return TakeReply.newBuilder().setName(name).setBytes(bytes).setFrozenMillis(frozen).build();
        } catch (IOException | RuntimeException e) {
            if (images != null) {
                folders.keepLog(images, "dump.log");
            }
            return TakeReply.newBuilder().setError("the checkpoint of " + gpid + " failed: " + e.getMessage()
                + "; it goes on running").build();
        } finally {
            CheckpointFolders.delete(images);
        }
    }

    @Override
    public void restart(RestartRequest req, StreamObserver<RestartReply> out) {
        out.onNext(restart(req));
        out.onCompleted();
    }

    private RestartReply restart(RestartRequest req) {
        CheckpointMeta meta;
        try {
            meta = store.meta(req.getName());
        } catch (java.nio.file.NoSuchFileException e) {
            throw io.grpc.Status.NOT_FOUND.withDescription("no checkpoint named " + req.getName()).asRuntimeException();
        } catch (IOException e) {
            return RestartReply.newBuilder().setError("checkpoint " + req.getName() + ": " + e.getMessage()).build();
        }
        MovingJob job = meta.getJob();
        if (req.getCaller().getUid() != 0 && req.getCaller().getUid() != job.getUid()) {
            throw Permissions.denied("checkpoint " + req.getName());
        }
        String refused = refusal(meta);
        if (refused != null) {
            return RestartReply.newBuilder().setError(refused).build();
        }
        supervisor.forgetEnded(job.getGpid()); // its end here, if it ended here, is history: it runs again
        Path images = null;
        try {
            images = folders.create("restart-" + job.getGpid());
            store.unpack(req.getName(), images);
            long t0 = System.nanoTime();
            // a process that was attached to its client runs detached from its restart (the client is gone)
            Restores.Restored r = supervisor.restores().restore(CheckpointReceiver.specOf(job.toBuilder().setDetached(true).build()),
                job.getStartEpochMillis(), job.getMoves(),
                images, job.getStatusPipe(), job.getStdinId().isEmpty() ? List.of() : List.of(job.getStdinId()),
                job.getStdoutIdsList(), job.getStderrIdsList(), null, MigrateService.RESTORE_SECONDS);
            Job restored = r.commit();
            timer.every(restored, job.getCheckpointEverySeconds()); // its period goes on here (none: 0)
            long millis = MigrateService.millis(t0, System.nanoTime());
            ProcessSpace s = space.get();
            MovingJobs.relocate(s, job.getGpid(), nodeName);
            for (String other : s.members()) { // wherever it ran last (and ended) says so no more
                if (!other.equals(nodeName)) {
                    Thread.ofVirtual().start(() -> forget(s, other, job.getGpid())); // a node that does not answer delays nothing
                }
            }
            events.record("restart", job.getGpid(), job.getGpid() + " restarted on " + nodeName + " from checkpoint "
                + req.getName() + " (taken on " + meta.getNode() + ")");
            return RestartReply.newBuilder().setGpid(job.getGpid()).setNode(nodeName).setRestoreMillis(millis).build();
        } catch (IOException | LaunchException | RuntimeException e) {
            if (images != null) {
                folders.keepLog(images, "restore.log");
            }
            return RestartReply.newBuilder().setError("the restart of " + req.getName() + " on " + nodeName + " failed: "
                + e.getMessage()).build();
        } finally {
            CheckpointFolders.delete(images);
        }
    }

    /** Why this node does not restart the checkpoint {@code meta}, or null. */
    private String refusal(CheckpointMeta meta) {
        MovingJob job = meta.getJob();
        if (!Gpid.looksLike(job.getGpid())) {
            return "checkpoint " + meta.getName() + " is damaged";
        }
        if (!meta.getNode().equals(nodeName) && !remoteStarts.allows(0)) {
            return nodeName + " restarts no checkpoint of another node: it is restored as root, and remote_uids = "
                + remoteStarts + " refuses remote root (gestalt init --remote-root allows it)";
        }
        if (!meta.getNode().equals(nodeName) && !remoteStarts.allows(job.getUid() & 0xFFFF_FFFFL)) {
            return nodeName + " does not run processes of other nodes as uid " + job.getUid() + " (remote_uids = " + remoteStarts + ")";
        }
        if (draining.on()) {
            return draining.refusal(nodeName);
        }
        Migration m = self.get();
        if (!m.available()) {
            return nodeName + " cannot restart processes: " + m.detail();
        }
        return null;
    }

    /** Tells {@code node} that {@code gpid}, which ended there, runs again elsewhere. */
    private static void forget(ProcessSpace s, String node, String gpid) {
        try {
            CheckpointsGrpc.newBlockingStub(s.channel(node)).withDeadlineAfter(10, TimeUnit.SECONDS)
                .forget(ForgetRequest.newBuilder().setGpid(gpid).build());
        } catch (Exception e) {
            LOG.warning("cannot tell " + node + " that " + gpid + " runs again elsewhere: " + e.getMessage());
        }
    }

    @Override
    public void forget(ForgetRequest req, StreamObserver<ForgetReply> out) {
        supervisor.forgetEnded(req.getGpid());
        out.onNext(ForgetReply.getDefaultInstance());
        out.onCompleted();
    }
}

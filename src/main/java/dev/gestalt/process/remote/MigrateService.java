package dev.gestalt.process.remote;

import dev.gestalt.cluster.Migration;
import dev.gestalt.process.EventLog;
import dev.gestalt.process.Gpid;
import dev.gestalt.process.ProcessSpace;
import dev.gestalt.process.supervisor.Job;
import dev.gestalt.process.supervisor.SignalForward;
import dev.gestalt.process.supervisor.Moves;
import dev.gestalt.process.supervisor.Supervisor;
import dev.gestalt.security.MoveKeys;
import dev.gestalt.rpc.GestaltException;
import dev.gestalt.rpc.proto.DrainReply;
import dev.gestalt.rpc.proto.DrainRequest;
import dev.gestalt.rpc.proto.ImageChunk;
import dev.gestalt.rpc.proto.LazyPages;
import dev.gestalt.rpc.proto.MigrateGrpc;
import dev.gestalt.rpc.proto.MoveProgress;
import dev.gestalt.rpc.proto.MoveRequest;
import dev.gestalt.rpc.proto.MoveSummary;
import dev.gestalt.rpc.proto.Restored;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * A running process moves to another node with CRIU: the node it runs on freezes
 * and dumps it ({@link Moves#checkpoint}), streams the checkpoint and the output of before
 * the move to the target over the node channel (mutual TLS: authenticated and encrypted with the
 * cluster's credentials), the target's keeper restores it under the same GPID, and only then is
 * the frozen copy killed here and the home node told where the process is. Any failure before
 * that resumes the process here, as it was. The stream to the target: {@link MoveTransfer}; the
 * target's side: {@link CheckpointReceiver}.
 */
public final class MigrateService extends MigrateGrpc.MigrateImplBase {
    private static final Logger LOG = Logger.getLogger(MigrateService.class.getName());
    /** How long a restore may take on the target. */
    static final long RESTORE_SECONDS = 300;
    /** How long the home node of an attached process may take to stop its input before a move. */
    static final long PAUSE_SECONDS = 10;
    /** How long the clients attached to a terminal get to stop sending input before it moves (not waited for longer). */
    static final long ATTACH_PAUSE_SECONDS = 2;
    /** Post-copy: how long the target may take to pull the memory of a process that runs there. */
    static final long PAGES_SECONDS = 3600;

    private final String nodeName;
    private final Supervisor supervisor;
    private final Supplier<ProcessSpace> space;
    private final Supplier<Migration> self;
    private final RemoteStartPolicy remoteStarts;
    private final CheckpointFolders folders;
    private final Draining draining;
    private final ExecService exec;
    private final EventLog events;
    /** This node's address: where its page server listens for a post-copy move. */
    private final String address;
    private final SignalForwarder forwarder;
    /** The moves into this node now: at most incoming_moves (node.conf) at once. */
    private final IncomingMoves incoming;
    private final MoveChoice choice;
    /** GPIDs being moved from this node now: one move at a time each. */
    private final java.util.Set<String> moving = java.util.concurrent.ConcurrentHashMap.newKeySet();

    public MigrateService(String nodeName, Supervisor supervisor, Supplier<ProcessSpace> space, Supplier<Migration> self,
                          RemoteStartPolicy remoteStarts, Path stateDir, Draining draining, ExecService exec,
                          EventLog events, String address, int incomingMoves) {
        this.address = address;
        this.incoming = new IncomingMoves(incomingMoves);
        this.choice = new MoveChoice(nodeName, space);
        this.nodeName = nodeName;
        this.supervisor = supervisor;
        this.space = space;
        this.self = self;
        this.remoteStarts = remoteStarts;
        this.folders = new CheckpointFolders(stateDir);
        this.draining = draining;
        this.exec = exec;
        this.events = events;
        this.forwarder = new SignalForwarder(space);
    }

    // ---- the source: the node the process runs on ----

    @Override
    public void move(MoveRequest req, StreamObserver<MoveProgress> out) {
        Job j = supervisor.find(req.getGpid()).filter(x -> !x.end().isDone())
            .orElseThrow(() -> Permissions.notFound(req.getGpid()));
        Permissions.check(req.getCaller(), j);
        List<String> blockers = new ArrayList<>();
        Migration here = self.get();
        if (!here.available()) {
            blockers.add(nodeName + " cannot move processes: " + here.detail());
        }
        String target;
        String method;
        long memory = supervisor.moves().anonymousMemory(j); // read once: it picks the method and the page server
        try {
            target = choice.target(req, blockers);
            method = choice.method(req, here, target, blockers, memory);
        } catch (GestaltException e) {
            fail(out, e.getMessage()); // no node to move to: nothing moved
            return;
        }
        blockers.addAll(supervisor.moves().moveBlockers(j));
        if (blockers.isEmpty() && !j.spec().detached() && exec.session(j.gpid()).isEmpty()) {
            blockers.add(j.gpid() + " has no stream to its client on " + nodeName + " (its client is going or gone)");
        }
        MoveTransfer t = null;
        if (blockers.isEmpty()) {
            try {
                // stop-and-copy of more than a little memory: the target runs CRIU's page server, and the
                // dump sends it the memory as it writes it (a third of the time of carrying it here first)
                MoveKeys pageKeys = MoveChoice.throughPageServer(method, memory) && !req.getCheckOnly()
                    ? MoveKeys.create(j.gpid()) : null;
                t = open(target, j, pageKeys, memory); // the target says whether it takes it, before the freeze
                Restored accepted = t.next(target, 30);
                if (!accepted.getOk()) {
                    blockers.add(accepted.getError());
                } else if (pageKeys != null && accepted.getPagePort() > 0) {
                    t.pageKeys = pageKeys;
                    t.pageAddress = accepted.getPageAddress();
                    t.pagePort = accepted.getPagePort();
                }
            } catch (IOException | GestaltException | RuntimeException | java.security.GeneralSecurityException e) {
                blockers.add(target + " does not answer: " + e.getMessage());
            }
            if (t != null && (!blockers.isEmpty() || req.getCheckOnly())) {
                t.cancel("not moving");
            }
        }
        if (!blockers.isEmpty() || req.getCheckOnly()) {
            var last = MoveProgress.newBuilder().addAllBlockers(blockers).setPhase("check")
                .setDetail(target == null ? "" : nodeName + " -> " + target + ", " + method);
            if (!blockers.isEmpty()) {
                last.setError(req.getGpid() + " cannot move");
                if (!req.getCheckOnly()) {
                    events.record("not moved", req.getGpid(), String.join("; ", blockers) + why(req));
                }
            }
            out.onNext(last.build());
            out.onCompleted();
            return;
        }
        if (!moving.add(req.getGpid())) {
            t.cancel("moving already");
            fail(out, req.getGpid() + " is being moved already");
            return;
        }
        // an attached process: its home node stops sending input first, so that all it sent is here
        ExecSession attached = j.spec().detached() ? null : exec.session(j.gpid()).orElse(null);
        // and each client attached to a detached terminal, so that no key goes to the copy left behind
        List<AttachHandler.Attachment> watching = j.spec().tty() ? exec.pauseAttachments(j.gpid(),
            TimeUnit.SECONDS.toMillis(ATTACH_PAUSE_SECONDS)) : List.of();
        boolean moved = false;
        try {
            if (attached != null) {
                try {
                    attached.pauseInput(PAUSE_SECONDS);
                } catch (IOException e) {
                    t.cancel("not moving");
                    failMove(req, out, e.getMessage() + "; " + req.getGpid() + " goes on running on " + nodeName);
                    return;
                }
            }
            moved = move(req, j, target, method, t, attached, out);
        } finally {
            if (attached != null && !moved) {
                attached.resumeInput();
            }
            if (!moved) {
                watching.forEach(AttachHandler.Attachment::resumeInput);
            }
            moving.remove(req.getGpid());
        }
    }

    /** Returns whether it moved (and runs on {@code target} now). */
    private boolean move(MoveRequest req, Job j, String target, String method, MoveTransfer t, ExecSession attached,
                         StreamObserver<MoveProgress> out) {
        out.onNext(progress("check", nodeName + " -> " + target + ", " + method));
        long t0 = System.nanoTime();
        Path images = null;
        Path keys = null;
        Moves.Checkpoint c = null;
        try {
            images = folders.create("out-" + req.getGpid());
            MoveKeys moveKeys = null;
            Moves.PageServer pages = null;
            Moves.PageSource pagesTo = null;
            if (method.equals(MoveChoice.POST_COPY)) {
                moveKeys = MoveKeys.create(req.getGpid());
                keys = folders.create("keys-" + req.getGpid());
                pages = new Moves.PageServer(address, MoveKeys.write(keys, moveKeys.caPem(), moveKeys.sourceCertPem(),
                    moveKeys.sourceKeyPem()));
            } else if (t.pageKeys != null) {
                keys = folders.create("keys-" + req.getGpid());
                pagesTo = new Moves.PageSource(t.pageAddress, t.pagePort, MoveKeys.write(keys, t.pageKeys.caPem(),
                    t.pageKeys.sourceCertPem(), t.pageKeys.sourceKeyPem()));
            }
            try {
                c = supervisor.moves().checkpoint(req.getGpid(), images, pages, pagesTo);
            } catch (IOException e) {
                t.cancel("not moving");
                folders.keepLog(images, "dump.log");
                failMove(req, out, e.getMessage() + "; " + req.getGpid() + " goes on running on " + nodeName);
                return false;
            }
            long dumped = System.nanoTime();
            long imageBytes = CheckpointFolders.size(images);
            out.onNext(progress("freeze", "frozen; checkpoint of " + mb(imageBytes) + " in " + millis(t0, dumped) + " ms"
                + (c.postCopy() ? " (" + mb(c.lazyBytes()) + " of memory stays here until the target pulls it)"
                : pagesTo != null ? " (its memory went to " + target + "'s page server as it was written)" : "")));
            long[] sent = new long[1];
            Restored r;
            try {
                t.send(c, j, images, sent, moveKeys == null ? null : LazyPages.newBuilder().setAddress(address)
                    .setPort(c.pagePort()).setCaPem(moveKeys.caPem()).setCertPem(moveKeys.targetCertPem())
                    .setKeyPem(moveKeys.targetKeyPem()).build());
                r = t.next(target, RESTORE_SECONDS + 60);
            } catch (IOException | GestaltException | RuntimeException e) {
                t.cancel("transfer failed");
                supervisor.moves().resume(c);
                failMove(req, out, "the transfer to " + target + " failed: " + e.getMessage() + "; " + req.getGpid()
                    + " goes on running on " + nodeName);
                return false;
            }
            if (!r.getOk()) {
                t.cancel("restore failed");
                supervisor.moves().resume(c);
                failMove(req, out, "the restore on " + target + " failed: " + r.getError() + "; " + req.getGpid()
                    + " goes on running on " + nodeName);
                return false;
            }
            if (j.end().isDone()) { // killed while frozen: it ended here, and must not live on there
                t.cancel("the process ended");
                supervisor.moves().resume(c);
                failMove(req, out, req.getGpid() + " ended during its move (killed); it was not moved");
                return false;
            }
            if (!commit(target, t, req.getGpid())) {
                supervisor.moves().resume(c);
                failMove(req, out, target + " did not confirm that " + req.getGpid() + " runs there; " + req.getGpid()
                    + " goes on running on " + nodeName); // each failure ends alike: scripts look for it
                return false;
            }
            long restored = System.nanoTime();
            if (attached != null) {
                handOver(attached, c, target);
            }
            String gpid = req.getGpid();
            supervisor.moves().moved(c, target, forwarder(gpid, j.spec().uid(), target));
            MovingJobs.relocate(space.get(), gpid, target);
            long transferMillis = Math.max(0, millis(dumped, restored) - r.getRestoreMillis());
            long paged = r.getPageBytes(); // stop-and-copy: sent by the dump, to the target's page server
            out.onNext(progress("transfer", mb(sent[0]) + " in " + transferMillis + " ms"
                + (transferMillis > 0 ? " (" + String.format("%.0f", sent[0] / 1e6 / (transferMillis / 1e3)) + " MB/s)" : "")
                + (paged > 0 ? "; its memory, " + mb(paged) + ", during the freeze" : "")));
            out.onNext(progress("restore", "running on " + target + " after " + r.getRestoreMillis() + " ms"
                + (c.postCopy() ? "; pulling its memory from " + nodeName : "")));
            long downtime = millis(t0, restored);
            String pulled = c.postCopy() ? pagesPulled(t, c, target, req.getGpid()) : null;
            long end = System.nanoTime();
            LOG.info("moved " + req.getGpid() + " to " + target + " (" + method + ", " + (sent[0] + paged) + " bytes, downtime "
                + downtime + " ms)");
            if (pulled != null) {
                events.record("move failed", req.getGpid(), nodeName + " -> " + target + ": " + pulled + why(req));
                out.onNext(MoveProgress.newBuilder().setPhase("failed").setError(pulled).build());
                out.onCompleted();
                return true; // it left this node all the same
            }
            long fill = c.postCopy() ? millis(restored, end) : 0;
            if (c.postCopy()) {
                out.onNext(progress("memory", mb(c.lazyBytes()) + " pulled in " + fill + " ms"
                    + (fill > 0 ? " (" + String.format("%.0f", c.lazyBytes() / 1e6 / (fill / 1e3)) + " MB/s)" : "")));
            }
            events.record("moved", req.getGpid(), nodeName + " -> " + target + ": downtime " + downtime + " ms, "
                + mb(sent[0] + paged + c.lazyBytes()) + ", " + method + why(req));
            out.onNext(MoveProgress.newBuilder().setPhase("done").setDone(MoveSummary.newBuilder()
                .setFrom(nodeName).setTo(target).setMethod(method).setBytes(sent[0] + paged + c.lazyBytes())
                .setDowntimeMillis(downtime).setTotalMillis(millis(t0, end))
                .setDumpMillis(millis(t0, dumped)).setTransferMillis(transferMillis)
                .setRestoreMillis(r.getRestoreMillis()).setMemoryBytes(c.lazyBytes()).setFillMillis(fill)).build());
            out.onCompleted();
            return true;
        } catch (IOException | java.security.GeneralSecurityException e) {
            t.cancel("failed");
            if (c != null) {
                supervisor.moves().resume(c);
            }
            failMove(req, out, e.getMessage());
            return false;
        } finally {
            CheckpointFolders.delete(images);
            CheckpointFolders.delete(keys);
        }
    }

    /**
     * Post-copy, once it runs on the target: waits for the target to say that all its memory
     * arrived (its lazy-pages daemon ended), then for CRIU's page server here to end. Returns
     * null when all arrived, else what happened, as the move's error: the target killed it (it
     * said why), or the target went before saying (it may run on there under its keeper).
     */
    private String pagesPulled(MoveTransfer t, Moves.Checkpoint c, String target, String gpid) {
        String why;
        try {
            Restored r = t.next(target, PAGES_SECONDS);
            why = r.getOk() ? null : gpid + " ran on " + target + " but " + r.getError() + ": it was killed there";
        } catch (IOException | GestaltException | RuntimeException e) {
            why = gpid + " ran on " + target + ", which went away before saying that all its memory had come from "
                + nodeName + " (" + e.getMessage() + "); if it runs there still, gestalt ps shows it";
        }
        int code = supervisor.moves().pagesServed(c, java.time.Duration.ofSeconds(why == null ? 30 : 5));
        if (why == null && code != 0) {
            LOG.warning("CRIU's page server for " + gpid + " exited " + code + " (the target has all its memory)");
        }
        return why;
    }

    /**
     * The attached process runs on {@code target} now: the input it had not read here goes to its
     * home node with the end of this stream, to be sent on to the target. Past the commit nothing
     * can be undone: a failure here costs that input, said in the log.
     */
    private void handOver(ExecSession attached, Moves.Checkpoint c, String target) {
        try {
            attached.handOver(target, () -> supervisor.moves().takeUnreadInput(c));
        } catch (IOException | RuntimeException e) {
            LOG.warning("the unread input of " + c.job().gpid() + " stays behind on " + nodeName + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Opens the transfer of {@code j} to {@code target}: the target's first answer says whether it
     * takes it (before anything is frozen).
     */
    private MoveTransfer open(String target, Job j, MoveKeys pageKeys, long memory) throws GestaltException, IOException {
        var job = MovingJobs.describe(j).toBuilder().setCheckpointEverySeconds(exec.checkpoints.seconds(j.gpid()));
        if (pageKeys != null) {
            job.setPageServer(LazyPages.newBuilder().setCaPem(pageKeys.caPem()).setCertPem(pageKeys.targetCertPem())
                .setKeyPem(pageKeys.targetKeyPem())).setMemoryBytes(memory);
        }
        return MoveTransfer.open(space.get().channel(target), RESTORE_SECONDS + PAGES_SECONDS, job.build());
    }

    /**
     * The restore succeeded: the target may let the process run once this copy is sure to stay
     * frozen. Returns whether it runs there now; false when the target said no or went away
     * before saying yes and does not list it (this copy then resumes). Never both: the frozen copy
     * here is killed only once the target confirmed, or lists the process as its own.
     */
    private boolean commit(String target, MoveTransfer t, String gpid) {
        try {
            return t.commit(target);
        } catch (IOException | GestaltException | RuntimeException e) {
            t.cancel("commit failed");
            LOG.warning("no confirmation of " + gpid + "'s commit from " + target + " (" + e.getMessage()
                + "): asking it whether the process runs there");
            return MovingJobs.runsOn(space.get(), target, gpid);
        }
    }

    /** Where the signals of {@code gpid}, which went from here to {@code target}, go on to (see {@link SignalForwarder}). */
    SignalForward forwarder(String gpid, int uid, String target) {
        return forwarder.to(gpid, uid, target);
    }

    // ---- the home node ----

    @Override
    public void relocated(MoveRequest req, StreamObserver<Restored> out) {
        ProcessSpace s = space.get();
        if (Gpid.looksLike(req.getGpid()) && Gpid.parse(req.getGpid()).home() == s.selfId()
                && s.member(req.getTarget()) != null && s.placements().node(Gpid.parse(req.getGpid()).seq()) != null) {
            s.placed(req.getGpid(), req.getTarget());
        }
        out.onNext(Restored.newBuilder().setOk(true).build());
        out.onCompleted();
    }

    // ---- the target ----

    @Override
    public StreamObserver<ImageChunk> receive(StreamObserver<Restored> out) {
        return new CheckpointReceiver(out, nodeName, address, supervisor, self, remoteStarts, folders, draining, exec, incoming);
    }

    // ---- the node being drained ----

    @Override
    public void drain(DrainRequest req, StreamObserver<DrainReply> out) {
        if (req.getCaller().getUid() != 0) {
            throw Permissions.denied((req.getDraining() ? "drain " : "undrain ") + nodeName);
        }
        boolean was = draining.set(req.getDraining());
        if (was != req.getDraining()) {
            events.record(req.getDraining() ? "drain" : "undrain", "", req.getDraining()
                ? nodeName + " takes no new processes; its processes move away" : nodeName + " takes new processes again");
        }
        var reply = DrainReply.newBuilder().setWasDraining(was);
        supervisor.jobs().stream().filter(j -> !j.end().isDone()).map(Job::gpid).sorted().forEach(reply::addRunning);
        out.onNext(reply.build());
        out.onCompleted();
    }

    // ---- helpers ----

    private static MoveProgress progress(String phase, String detail) {
        return MoveProgress.newBuilder().setPhase(phase).setDetail(detail).build();
    }

    /** A move that failed once under way: said to the caller and kept in the node's events. */
    private void failMove(MoveRequest req, StreamObserver<MoveProgress> out, String why) {
        events.record("move failed", req.getGpid(), why + why(req));
        fail(out, why);
    }

    private static String why(MoveRequest req) {
        return req.getWhy().isEmpty() ? "" : " (" + req.getWhy() + ")";
    }

    private static void fail(StreamObserver<MoveProgress> out, String why) {
        out.onNext(MoveProgress.newBuilder().setPhase("failed").setError(why).build());
        out.onCompleted();
    }

    static long millis(long fromNanos, long toNanos) {
        return TimeUnit.NANOSECONDS.toMillis(toNanos - fromNanos);
    }

    private static String mb(long bytes) {
        return String.format("%.1f MB", bytes / 1e6);
    }
}

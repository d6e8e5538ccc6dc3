package dev.gestalt.process.remote;

import dev.gestalt.cluster.Migration;
import dev.gestalt.process.Gpid;
import dev.gestalt.process.supervisor.Job;
import dev.gestalt.process.supervisor.LaunchException;
import dev.gestalt.process.supervisor.LaunchSpec;
import dev.gestalt.process.supervisor.Moves;
import dev.gestalt.process.supervisor.Restores;
import dev.gestalt.process.supervisor.Supervisor;
import dev.gestalt.rpc.proto.ImageChunk;
import dev.gestalt.rpc.proto.MovingJob;
import dev.gestalt.rpc.proto.Restored;
import dev.gestalt.security.GrpcTls;
import dev.gestalt.security.MoveKeys;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.logging.Logger;
import java.util.regex.Pattern;

/**
 * The target's side of one move (see {@link MigrateService}): the process's identity first, which
 * the target takes or refuses before the source freezes anything; the checkpoint into a folder of
 * root's; the restore, stopped; the commit, after which it runs here. A stream that ends before the
 * commit, or no commit within {@link #COMMIT_SECONDS}, kills the restored copy.
 */
final class CheckpointReceiver implements StreamObserver<ImageChunk> {
    private static final Logger LOG = Logger.getLogger(CheckpointReceiver.class.getName());
    private static final Pattern FILE_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    /** A checkpoint that does not fit in what the target's disk has free, less this, is refused. */
    private static final long DISK_RESERVE = 256L << 20;
    /** A restored copy whose source does not commit within this is killed (the source resumed its own). */
    static final long COMMIT_SECONDS = 60;

    private final String nodeName;
    private final String address;
    private final Supervisor supervisor;
    private final Supplier<Migration> self;
    private final RemoteStartPolicy remoteStarts;
    private final Draining draining;
    private final ExecService attached;
    private final CheckpointFolders folders;
    private final IncomingMoves incoming;
    /** This move's place among the node's incoming moves, from its start until its images are gone. */
    private volatile IncomingMoves.Slot slot;
    private final StreamObserver<Restored> out;
    private MovingJob job;
    private Path images;
    private String file;
    private OutputStream current;
    private long bytes;
    private long room;
    private String refused;
    /** The first answer went: the process is taken, the checkpoint may come. */
    private boolean taken;
    /** Stop-and-copy: CRIU's page server, taking the memory straight from the source's dump. */
    private volatile Moves.PageSink pages;
    private volatile Restores.Restored restored;
    private volatile boolean done;
    /** It runs here: post-copy, its images stay until its memory arrived. */
    private volatile boolean committed;

    CheckpointReceiver(StreamObserver<Restored> out, String nodeName, String address, Supervisor supervisor,
                       Supplier<Migration> self, RemoteStartPolicy remoteStarts, CheckpointFolders folders,
                       Draining draining, ExecService attached, IncomingMoves incoming) {
        this.out = out;
        this.incoming = incoming;
        this.nodeName = nodeName;
        this.address = address;
        this.supervisor = supervisor;
        this.self = self;
        this.remoteStarts = remoteStarts;
        this.draining = draining;
        this.attached = attached;
        this.folders = folders;
    }

    @Override
    public void onNext(ImageChunk c) {
        if (done) {
            return;
        }
        if (c.getCommit()) {
            commit();
            return;
        }
        if (c.getEnd()) {
            if (job != null) {
                job = job.toBuilder().mergeFrom(c.getJob()).build(); // the ids, known once it was dumped
            }
            restore();
            return;
        }
        if (refused != null) {
            return;
        }
        try {
            if (job == null) {
                start(c);
                var answer = Restored.newBuilder().setOk(true); // taken: the checkpoint may come
                var p = job.hasPageServer() ? receivePages() : null;
                if (p != null) {
                    answer.setPageAddress(p.address()).setPagePort(p.port());
                }
                out.onNext(answer.build());
                taken = true;
                return;
            }
            if (!c.getFile().equals(file)) {
                if (!FILE_NAME.matcher(c.getFile()).matches() || Files.exists(images.resolve(c.getFile()))) {
                    throw new IOException("a checkpoint file named '" + c.getFile() + "'");
                }
                closeCurrent();
                file = c.getFile();
                current = Files.newOutputStream(images.resolve(file), StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE, java.nio.file.LinkOption.NOFOLLOW_LINKS);
            }
            bytes += c.getData().size();
            if (bytes > room) {
                throw new IOException("the checkpoint does not fit on " + nodeName + "'s disk");
            }
            c.getData().writeTo(current);
        } catch (IOException | RuntimeException e) {
            refused = e.getMessage();
            closeCurrent();
            stopPages();
            dropImages();
            if (!taken) { // refused at once: say so, and end
                done = true;
                out.onNext(Restored.newBuilder().setError(refused).build());
                out.onCompleted();
            }
        }
    }

    private void start(ImageChunk c) throws IOException {
        job = c.getJob();
        if (!c.hasJob() || !Gpid.looksLike(job.getGpid())) {
            throw new IOException("a checkpoint without its process");
        }
        if (!Boolean.TRUE.equals(GrpcTls.SAME_NODE.get()) && GrpcTls.PEER.get() == null) {
            throw new IOException("the sender presented no node certificate");
        }
        if (!remoteStarts.allows(0)) {
            // CRIU restores as root (it opens the files, maps the memory, and only then takes on
            // the process's ids): a checkpoint can do what a remote start as root could
            throw new IOException(nodeName + " takes no processes from other nodes: a checkpoint is restored as root,"
                + " and remote_uids = " + remoteStarts + " refuses remote root (gestalt init --remote-root allows it)");
        }
        if (!remoteStarts.allows(job.getUid() & 0xFFFF_FFFFL)) {
            throw new IOException(nodeName + " does not run processes of other nodes as uid " + job.getUid()
                + " (remote_uids = " + remoteStarts + ")");
        }
        if (draining.on()) {
            throw new IOException(draining.refusal(nodeName));
        }
        Migration m = self.get();
        if (!m.available()) {
            throw new IOException(nodeName + " cannot take processes: " + m.detail());
        }
        slot = incoming.take(nodeName);
        images = folders.create("in-" + job.getGpid());
        room = Files.getFileStore(images).getUsableSpace() - DISK_RESERVE;
    }

    /**
     * Stop-and-copy: CRIU's page server here, for the source's dump to send the memory to, when
     * it fits on this node's disk; null when it does not start (the memory then comes with the
     * rest of the checkpoint).
     */
    private Moves.PageSink receivePages() throws IOException {
        if (job.getMemoryBytes() > room - bytes) {
            throw new IOException("the checkpoint does not fit on " + nodeName + "'s disk");
        }
        var keys = job.getPageServer();
        try {
            pages = supervisor.restores().receivePages(images, address,
                MoveKeys.write(images, keys.getCaPem(), keys.getCertPem(), keys.getKeyPem()));
            return pages;
        } catch (IOException e) {
            LOG.warning("no page server for " + job.getGpid() + ", its memory comes with its checkpoint: " + e.getMessage());
            return null;
        }
    }

    private void stopPages() {
        var p = pages;
        if (p != null) {
            p.kill();
        }
    }

    /** All of it is in: restored, stopped; the answer; a commit must follow within a minute. */
    private void restore() {
        closeCurrent();
        Restored.Builder r = Restored.newBuilder();
        String lost = refused == null && pages != null ? pages.await(java.time.Duration.ofSeconds(30)) : null;
        if (lost != null) {
            folders.keepLog(images, "page-server.log");
        }
        if (refused != null || job == null || lost != null) {
            r.setError(refused != null ? refused : lost != null ? lost : "an empty checkpoint");
        } else {
            long t0 = System.nanoTime();
            try {
                if (pages != null) {
                    r.setPageBytes(CheckpointFolders.size(images, "pages-*.img")); // what CRIU's page server wrote
                }
                LaunchSpec spec = specOf(job);
                Moves.PageSource pages = null;
                if (job.hasLazy() && job.getLazy().getPort() > 0) {
                    var l = job.getLazy();
                    pages = new Moves.PageSource(l.getAddress(), l.getPort(),
                        MoveKeys.write(images, l.getCaPem(), l.getCertPem(), l.getKeyPem()));
                }
                restored = supervisor.restores().restore(spec, job.getStartEpochMillis(), job.getMoves() + 1, images,
                    job.getStatusPipe(), job.getStdinId().isEmpty() ? List.of() : List.of(job.getStdinId()),
                    job.getStdoutIdsList(), job.getStderrIdsList(), pages, MigrateService.RESTORE_SECONDS);
                r.setOk(true).setRestoreMillis(MigrateService.millis(t0, System.nanoTime()));
                Thread.ofVirtual().start(this::abortUnlessCommitted);
            } catch (LaunchException | IOException | IllegalArgumentException e) {
                folders.keepLog(images, "restore.log");
                folders.keepLog(images, "lazy-pages.log");
                r.setError(e.getMessage());
            }
        }
        if (restored == null || !restored.postCopy()) {
            dropImages(); // post-copy: its lazy-pages daemon works there until all arrived
        }
        out.onNext(r.build());
        if (!r.getOk()) {
            done = true;
            out.onCompleted();
        }
    }

    /** The launch spec a restored process runs under (its environment, limits and groups are in its checkpoint). */
    static LaunchSpec specOf(MovingJob job) {
        return new LaunchSpec(job.getGpid(), job.getArgvList(), Map.of(), Path.of(job.getCwd()),
            job.getUid(), job.getGid(), new int[0], job.getUser(), 022, List.of(), job.getTty(), 0, 0, job.getDetached(),
            true, job.getPinned());
    }

    private void commit() {
        var rs = restored;
        done = true;
        if (rs == null) {
            out.onNext(Restored.newBuilder().setError("nothing restored to commit").build());
        } else {
            committed = true;
            Job j = rs.commit();
            if (!j.detached()) {
                attached.awaitHome(j, job.getHomeNode()); // its home node opens its stream again, here
            } else {
                attached.checkpoints.every(j, job.getCheckpointEverySeconds()); // goes on here
            }
            LOG.info("restored " + job.getGpid() + " (moved here, uid " + job.getUid() + ")");
            out.onNext(Restored.newBuilder().setOk(true).setCommitted(true).build());
            if (rs.postCopy()) { // the source learns when all its memory is here
                Thread.ofVirtual().name("pages-" + job.getGpid()).start(() -> {
                    String why = rs.pagesArrived(java.time.Duration.ofSeconds(MigrateService.PAGES_SECONDS));
                    if (why != null) {
                        folders.keepLog(images, "lazy-pages.log");
                    }
                    dropImages();
                    try {
                        out.onNext(why == null ? Restored.newBuilder().setOk(true).build() : Restored.newBuilder().setError(why).build());
                        out.onCompleted();
                    } catch (RuntimeException e) {
                        LOG.fine("the source of " + job.getGpid() + " went before its memory arrived: " + e.getMessage());
                    }
                });
                return;
            }
        }
        out.onCompleted();
    }

    private void abortUnlessCommitted() {
        try {
            Thread.sleep(TimeUnit.SECONDS.toMillis(COMMIT_SECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        abort("no commit within " + COMMIT_SECONDS + " s");
    }

    private void abort(String why) {
        var rs = restored;
        if (rs != null) {
            rs.abort(); // nothing once committed
            if (rs.postCopy() && !committed) {
                dropImages();
            }
            if (!done) {
                LOG.warning("dropped the restored copy of " + job.getGpid() + ": " + why);
            }
        }
        done = true;
    }

    @Override
    public void onError(Throwable t) {
        closeCurrent();
        stopPages();
        if (!committed) {
            dropImages();
        }
        abort("the source went away (" + t.getMessage() + ")");
    }

    @Override
    public void onCompleted() {
        closeCurrent();
        stopPages();
        if (!committed) {
            dropImages();
        }
        if (!done) {
            abort("the source ended the transfer before the commit");
            out.onCompleted();
        }
    }

    /** Deletes this move's images (the process's memory) and gives its place back. */
    private void dropImages() {
        CheckpointFolders.delete(images);
        var s = slot;
        if (s != null) {
            s.release();
        }
    }

    private void closeCurrent() {
        if (current != null) {
            try {
                current.close();
            } catch (IOException e) {
                refused = refused == null ? e.getMessage() : refused;
            }
            current = null;
        }
    }
}

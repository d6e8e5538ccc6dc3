package dev.gestalt.process.supervisor;

import dev.gestalt.os.Signals;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.logging.Logger;

/**
 * The moves that come to a node ({@link Supervisor#restores()}): a job checkpointed on another
 * node restored here stopped ({@link #restore}) until the move commits ({@link Restored#commit})
 * or not ({@link Restored#abort}); stop-and-copy, the page server its memory comes to
 * ({@link #receivePages}). The node it leaves: {@link Moves}.
 */
public final class Restores {
    private static final Logger LOG = Logger.getLogger(Moves.class.getName()); // the moves' lines, as before

    private final Supervisor supervisor;

    Restores(Supervisor supervisor) {
        this.supervisor = supervisor;
    }

    /**
     * Restores a job checkpointed on another node from {@code images}, stopped: once its copy
     * there is gone, {@link Restored#commit} lets it run here, under this node's keeper, with the
     * same GPID; {@link Restored#abort} kills it. Its log files go on from what
     * {@code images/stdout} and {@code images/stderr} hold.
     *
     * @param moves      how many times it moved, this move included
     * @param statusPipe and
     * @param stdinIds   and
     * @param stdoutIds  and
     * @param stderrIds  the names CRIU knows its status pipe, stdout and stderr by (see {@link Moves.Checkpoint})
     * @param pages      post-copy: the source's page server its memory comes from (null: in the images)
     * @throws LaunchException 255 with the reason when the restore failed
     */
    public Restored restore(LaunchSpec spec, long startMillis, int moves, Path images, String statusPipe,
                       List<String> stdinIds, List<String> stdoutIds, List<String> stderrIds, Moves.PageSource pages,
                       long timeoutSeconds) throws LaunchException {
        if (!supervisor.privileged) {
            throw new LaunchException(255, "the node does not run as root (CRIU needs root)");
        }
        if (!supervisor.claim(spec.gpid())) {
            throw new LaunchException(255, "gpid " + spec.gpid() + " is in use on this node");
        }
        Process lazyPages = null;
        boolean ok = false;
        try {
            Keeper k = supervisor.keeper();
            List<String> restorer;
            try {
                // checkpointed while attached, restarted detached (its output to a log): its stdin reads nothing
                boolean stdinFromNull = spec.detached() && !spec.tty() && !stdinIds.isEmpty();
                restorer = Criu.restoreCommand(images, List.of(List.of(statusPipe), stdinIds, stdoutIds, stderrIds),
                    pages != null, stdinFromNull);
                lazyPages = pages == null ? null : CriuLazy.lazyPages(images, pages.address(), pages.port(), pages.tls());
            } catch (IOException e) {
                throw new LaunchException(255, e.getMessage(), e);
            }
            supervisor.records.restoring(spec);
            Keeper.Started s;
            if (lazyPages != null) { // CRIU's restore can wait without end for a lazy-pages daemon that failed
                Process watched = lazyPages;
                watched.onExit().thenRun(() -> {
                    if (watched.exitValue() != 0) {
                        CriuLazy.killRestore(images);
                    }
                });
            }
            try {
                s = k.restore(spec.gpid(), spec.detached(), spec.tty(), spec.uid(), spec.gid(), images, restorer, timeoutSeconds);
            } catch (LaunchException e) {
                supervisor.records.moved(spec.gpid(), true); // no record stays: it runs on where it was
                String criu = lazyPages != null && lazyPages.isAlive() == false && lazyPages.exitValue() != 0
                    ? Criu.lastError(images.resolve("lazy-pages.log")) : Criu.lastError(images.resolve("restore.log"));
                throw criu == null ? e : new LaunchException(255, "criu restore failed: " + criu);
            }
            // restored stopped: it runs once the kernel says it is who the checkpoint claimed
            String wrong = Criu.wrongIdentity(s.root(), spec.uid());
            LocalJob job;
            try {
                if (wrong != null) {
                    throw new IOException("refused the checkpoint of " + spec.gpid() + ": " + wrong);
                }
                job = new LocalJob(spec, k, s.root(), s.program(), spec.detached(), supervisor.logDir(spec.gpid()),
                    s.stdin(), s.stdout(), s.stderr());
            } catch (IOException e) {
                k.moved(spec.gpid());
                supervisor.records.moved(spec.gpid(), true);
                LOG.warning(e.getMessage());
                throw new LaunchException(255, e.getMessage(), e);
            }
            job.moves(moves);
            ok = true;
            return new Restored(job, k, lazyPages, startMillis);
        } finally {
            if (!ok && lazyPages != null) {
                lazyPages.destroyForcibly();
            }
            supervisor.doneStarting(spec.gpid());
        }
    }

    /**
     * Stop-and-copy, on the target: CRIU's page server on {@code address}, which writes into
     * {@code images} the memory a source's dump sends it (over TLS with {@code tls}, see
     * MoveKeys) and ends with that dump. Returns once it listens.
     */
    public Moves.PageSink receivePages(Path images, String address, List<String> tls) throws IOException {
        return CriuLazy.pageServer(images, address, tls);
    }

    /** A job restored and stopped (see {@link #restore}), until it runs here or goes. */
    public final class Restored {
        private final LocalJob job;
        private final Keeper keeper;
        private final java.util.concurrent.atomic.AtomicBoolean settled = new java.util.concurrent.atomic.AtomicBoolean();
        /** Post-copy: CRIU's lazy-pages daemon, pulling its memory from the source; null when it came whole. */
        private final Process pages;

        private final long startMillis;

        private Restored(LocalJob job, Keeper keeper, Process pages, long startMillis) {
            this.job = job;
            this.keeper = keeper;
            this.pages = pages;
            this.startMillis = startMillis;
        }

        /** The restored init's pid (tests). */
        long rootPid() {
            return job.rootPid();
        }

        /** Whether its memory is still on the source, pulled as it runs here (post-copy). */
        public boolean postCopy() {
            return pages != null;
        }

        /**
         * Post-copy, after the commit: waits until every page of its memory has arrived, at most
         * {@code limit}. Returns null when all did; else why not, and the process is killed: a
         * page that can no longer come would read as zeros, and a process must not run on with
         * memory that is not its own.
         */
        public String pagesArrived(java.time.Duration limit) {
            if (pages == null) {
                return null;
            }
            String why;
            try {
                if (!pages.waitFor(limit.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
                    why = "its memory did not all arrive within " + limit.toSeconds() + " s";
                } else {
                    why = pages.exitValue() == 0 ? null : "pulling its memory from the source failed (criu lazy-pages exit "
                        + pages.exitValue() + ")";
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                why = "interrupted while its memory was pulled";
            }
            if (why != null) {
                pages.destroyForcibly();
                if (!job.end().isDone()) {
                    job.signal(Signals.SIGKILL);
                    LOG.warning("killed " + job.gpid() + ": " + why);
                }
            }
            return why;
        }

        /** It runs here from now on (its copy on the node it came from is gone). */
        public Job commit() {
            if (settled.compareAndSet(false, true)) {
                supervisor.records.restored(job.spec(), startMillis);
                supervisor.register(job, keeper);
                keeper.commit(job.gpid()); // the keeper no longer kills it if this daemon goes
                Criu.resume(job.rootPid());
            }
            return job;
        }

        /** The move did not complete: killed here, no record kept (its source resumes its own copy). */
        public void abort() {
            if (settled.compareAndSet(false, true)) {
                keeper.moved(job.gpid());
                supervisor.records.moved(job.gpid(), true);
                if (pages != null) {
                    pages.destroyForcibly();
                }
            }
        }
    }
}

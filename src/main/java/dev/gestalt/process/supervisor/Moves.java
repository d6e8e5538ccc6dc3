package dev.gestalt.process.supervisor;

import dev.gestalt.os.Signals;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Logger;

/**
 * The moves of a node's jobs ({@link Supervisor#moves()}): on the node a job leaves, freezing and
 * writing it out with CRIU ({@link #checkpoint}), then letting it run on ({@link #resume}), ending
 * it ({@link #stop}) or letting it go where it now runs ({@link #moved}, {@link #superseded}), its
 * signals following it; on the node it comes to, restoring it stopped ({@link #restore}) until the
 * move commits ({@link Restored#commit}) or not ({@link Restored#abort}).
 */
public final class Moves {
    private static final Logger LOG = Logger.getLogger(Moves.class.getName());
    private static final int MOVED_AWAY_KEPT = 256;

    private final Supervisor supervisor;
    /** The last {@link #MOVED_AWAY_KEPT} jobs that moved to another node (see {@link #movedAway}). */
    private final Map<String, Job> movedAway = new java.util.LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Job> eldest) {
            return size() > MOVED_AWAY_KEPT;
        }
    };

    Moves(Supervisor supervisor) {
        this.supervisor = supervisor;
    }

    /**
     * A job frozen and written out by CRIU, to be restored on another node ({@link #restore}):
     * the names CRIU knows its status pipe and output by, and when it started.
     */
    public record Checkpoint(Job job, String statusPipe, List<String> stdinIds, List<String> stdoutIds, List<String> stderrIds,
                             long startMillis, CriuLazy.LazyDump lazy, long lazyBytes) {
        /** Post-copy: its memory stayed here, to be pulled by the target once it runs there. */
        public boolean postCopy() {
            return lazy != null;
        }

        /** Post-copy: the port of the page server on this node's address; 0 otherwise. */
        public int pagePort() {
            return lazy == null ? 0 : lazy.port();
        }
    }

    /**
     * Post-copy: where this node's page server listens (this node's address), and the TLS options
     * of the move (see MoveKeys).
     */
    public record PageServer(String address, List<String> tls) {}

    /** Why a job cannot move, or null when it can (as far as the daemon knows before CRIU looks). */
    public String cannotMove(Job j) {
        if (!supervisor.privileged) {
            return "the node does not run as root (CRIU needs root)";
        }
        if (!(j instanceof LocalJob l) || !l.isAlive()) {
            return j.gpid() + " has ended";
        }
        if (!j.spec().migratable()) {
            return j.gpid() + " was started with --no-migrate";
        }
        if (!j.spec().detached() && j.detached()) {
            return j.gpid() + " lost its client (hung up): it cannot move";
        }
        if (l.programGone()) {
            return j.gpid() + "'s program has ended (what it left running cannot move)";
        }
        if (j.spec().uid() != 0 && !dev.gestalt.process.migrate.MigrationCheck.dumpsOtherUsers()) {
            return "the node's daemon lacks CAP_SYS_RESOURCE (a container that drops it?): CRIU cannot read the"
                + " limits of another user's process, so only root's processes can move from this node";
        }
        return null;
    }

    /** The anonymous memory of a job's processes (what a move carries), in bytes; 0 when unknown. */
    public long anonymousMemory(Job j) {
        if (!(j instanceof LocalJob l)) {
            return 0;
        }
        long kb = 0;
        for (long pid : Criu.tree(l.rootPid())) {
            try {
                for (String line : java.nio.file.Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                    if (line.startsWith("RssAnon:")) {
                        kb += Long.parseLong(line.substring(8).replace("kB", "").strip());
                    }
                }
            } catch (IOException | RuntimeException e) {
                // ended meanwhile
            }
        }
        return kb << 10;
    }

    /**
     * Why a job cannot move: {@link #cannotMove}, else what in it CRIU could not carry (TCP
     * connections, devices), found without freezing it. Empty when it can move.
     */
    public List<String> moveBlockers(Job j) {
        String why = cannotMove(j);
        if (why != null) {
            return List.of(why);
        }
        long root = ((LocalJob) j).rootPid();
        String terminal = null;
        if (j.spec().tty()) {
            try {
                terminal = java.nio.file.Files.readSymbolicLink(Path.of("/proc", Long.toString(root), "fd", "0")).toString();
            } catch (IOException e) {
                return List.of(j.gpid() + " has ended");
            }
        }
        return MoveBlockers.of(root, terminal);
    }

    /**
     * Freezes a job and writes it to {@code images} (a folder of root's): it stays frozen here
     * until {@link #moved} (restored elsewhere) or {@link #resume} (the move failed). Signals sent
     * to it meanwhile are kept for wherever it then runs, not lost with the frozen copy.
     *
     * @throws IOException with the reason when it cannot be dumped (it runs on, unharmed)
     */
    public Checkpoint checkpoint(String gpid, Path images, PageServer pageServer) throws IOException {
        return checkpoint(gpid, images, pageServer, null);
    }

    /**
     * {@link #checkpoint(String, Path, PageServer)}, its memory sent as it is dumped to the page
     * server of {@code pagesTo} (stop-and-copy: the target's, see {@link #receivePages}) when not null.
     */
    public Checkpoint checkpoint(String gpid, Path images, PageServer pageServer, PageSource pagesTo) throws IOException {
        Job j = supervisor.jobs.get(gpid);
        String why = j == null ? "no process " + gpid + " on this node" : cannotMove(j);
        if (why != null) {
            throw new IOException(why);
        }
        LocalJob l = (LocalJob) j;
        String status = Criu.fdName(l.rootPid(), 4);
        List<String> in = List.of();
        List<String> out;
        List<String> err;
        List<String> external = new ArrayList<>();
        if (j.spec().tty()) { // its terminal, whose master the keeper holds: a new one there, in its place
            String tty = JobTerminal.criuId(l.rootPid());
            external.add(tty);
            in = List.of(tty);
            out = List.of();
            err = List.of();
        } else if (j.spec().detached()) { // its log files, which the keeper opened: external to CRIU, inherited at the restore
            Path logs = supervisor.logDir(gpid);
            out = Criu.externalFiles(l.rootPid(), logs.resolve("stdout"));
            err = Criu.externalFiles(l.rootPid(), logs.resolve("stderr"));
            external.addAll(out);
            external.addAll(err);
        } else { // its pipes to this node's daemon: new ones there, inherited at the restore
            List<String> pipes = l.pipeNames();
            in = pipes.get(0) == null ? List.of() : List.of(pipes.get(0));
            out = pipes.get(1) == null ? List.of() : List.of(pipes.get(1));
            err = pipes.get(2) == null ? List.of() : List.of(pipes.get(2));
        }
        JobJournal.Entry e = supervisor.records.get(gpid);
        l.holdSignals();
        CriuLazy.LazyDump lazy = null;
        try {
            if (pageServer == null) {
                List<String> options = new ArrayList<>();
                if (pagesTo != null) {
                    options.addAll(List.of("--page-server", "--address", pagesTo.address(), "--port",
                        Integer.toString(pagesTo.port())));
                    options.addAll(pagesTo.tls());
                }
                // through the target's page server, the memory went there already: no second try
                Criu.betweenLocks(images, pagesTo == null, () -> {
                    Criu.dump(l.rootPid(), images, external, options);
                    return null;
                });
            } else {
                lazy = Criu.betweenLocks(images, true,
                    () -> CriuLazy.dumpLazy(l.rootPid(), images, external, pageServer.address(), pageServer.tls()));
            }
        } catch (IOException | RuntimeException ex) {
            deliver(l, l.releaseSignals()); // CRIU let it run on
            throw ex;
        }
        if (j.spec().tty()) {
            try {
                JobTerminal.save(l.rootPid(), images); // frozen: its size and modes stay as they are now
            } catch (IOException ex) {
                if (lazy != null) {
                    lazy.abort();
                }
                Criu.resume(l.rootPid());
                deliver(l, l.releaseSignals());
                throw ex;
            }
        }
        return new Checkpoint(j, status, in, out, err, e != null ? e.startMillis() : System.currentTimeMillis(), lazy,
            lazy == null ? 0 : CriuLazy.lazyBytes(images));
    }

    /**
     * Post-copy, after the commit: waits until the target has pulled the memory of the job of
     * {@code c} (or went), at most {@code limit}; CRIU's exit code (0 also when the target went:
     * the target's lazy-pages daemon knows whether all arrived).
     */
    public int pagesServed(Checkpoint c, java.time.Duration limit) {
        return c.lazy() == null ? 0 : c.lazy().end(limit);
    }

    /** What waits unread in the stdin pipe of a job frozen by {@link #checkpoint}, taken out (see LocalJob). */
    public byte[] takeUnreadInput(Checkpoint c) throws IOException {
        return c.job() instanceof LocalJob l ? l.takeUnreadInput() : new byte[0];
    }

    /** A job frozen by {@link #checkpoint} runs on here: its move failed. */
    public void resume(Checkpoint c) {
        if (c.lazy() != null) {
            c.lazy().abort(); // its page server goes (and CRIU lets the tree go)
        }
        if (c.job() instanceof LocalJob l) {
            Criu.resume(l.rootPid());
            deliver(l, l.releaseSignals());
        }
    }

    /**
     * A job frozen by {@link #checkpoint} ends here, killed while still frozen (SIGKILL: 137), its
     * checkpoint holding it now; signals sent to it meanwhile go with it.
     */
    public void stop(Checkpoint c) {
        if (c.lazy() != null) {
            c.lazy().abort();
        }
        if (c.job() instanceof LocalJob l) {
            l.releaseSignals();
            l.signal(Signals.SIGKILL);
        }
    }

    private static void deliver(LocalJob l, List<Integer> signals) {
        signals.forEach(l::signal);
    }

    /**
     * The job of {@code c} runs on {@code node} now: its copy here is killed, without an end
     * (the keeper says G, not X); waiters here learn where it went; its record goes. Signals
     * sent to it while it was frozen, and any sent here later (see {@link #movedAway}), go to
     * {@code forward}, in order, for the caller to send on to {@code node}.
     */
    public void moved(Checkpoint c, String node, SignalForward forward) {
        if (c.job() instanceof LocalJob l) {
            goneTo(l, node, forward);
        }
    }

    /** {@link #moved}, {@link #superseded}: the copy here is killed (G, not X) and forgotten; signals go on. */
    private void goneTo(LocalJob l, String node, SignalForward forward) {
        synchronized (movedAway) {
            movedAway.put(l.gpid(), l);
        }
        supervisor.jobs.remove(l.gpid(), l); // look-ups from now on are answered by the node it runs on now
        supervisor.records.moved(l.gpid(), true);
        l.moved(node, forward);
        Keeper k = supervisor.keeperNow();
        if (k != null) {
            k.moved(l.gpid());
        }
    }

    /**
     * The copy of {@code gpid} here is stale: the process runs on {@code node} (restarted there
     * from a checkpoint while this node was frozen or cut off). Killed without an end (the keeper
     * says G, as for a move: its end is the other copy's), its record goes; signals sent here go
     * on to {@code node}. Returns whether there was such a copy.
     */
    public boolean superseded(String gpid, String node, SignalForward forward) {
        if (!(supervisor.jobs.get(gpid) instanceof LocalJob l) || l.end().isDone()) {
            return false;
        }
        goneTo(l, node, forward);
        return true;
    }

    /**
     * A job that moved from here lately, for a signal that was sent here as it went (the sender
     * looked it up just before): {@link Job#signal} sends it on to where it runs now.
     */
    public Optional<Job> movedAway(String gpid) {
        synchronized (movedAway) {
            return Optional.ofNullable(movedAway.get(gpid));
        }
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
     * @param stderrIds  the names CRIU knows its status pipe, stdout and stderr by (see {@link Checkpoint})
     * @param pages      post-copy: the source's page server its memory comes from (null: in the images)
     * @throws LaunchException 255 with the reason when the restore failed
     */
    public Restored restore(LaunchSpec spec, long startMillis, int moves, Path images, String statusPipe,
                       List<String> stdinIds, List<String> stdoutIds, List<String> stderrIds, PageSource pages,
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
     * A page server to connect to (its address and port) and the TLS options of the move (see
     * MoveKeys): post-copy, the source's, for the target's lazy-pages daemon; stop-and-copy, the
     * target's ({@link #receivePages}), for the source's dump.
     */
    public record PageSource(String address, int port, List<String> tls) {}

    /**
     * Stop-and-copy, on the target: CRIU's page server on {@code address}, which writes into
     * {@code images} the memory a source's dump sends it (over TLS with {@code tls}, see
     * MoveKeys) and ends with that dump. Returns once it listens.
     */
    public PageSink receivePages(Path images, String address, List<String> tls) throws IOException {
        return CriuLazy.pageServer(images, address, tls);
    }

    /** CRIU's page server of {@link #receivePages}. */
    public interface PageSink {
        String address();

        int port();

        /** Waits for it to end (its dump ended), at most {@code limit}: null when it took all, else why not. */
        String await(java.time.Duration limit);

        /** Ends it (the move ended another way). */
        void kill();
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

package dev.gestalt.process.supervisor;

import dev.gestalt.os.Posix;
import dev.gestalt.os.Signals;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.time.Duration;
import java.util.logging.Logger;

/**
 * The local processes of a node: starts them through the node's keeper and holds what the
 * daemon knows of them (see the package description).
 *
 * <p>As root, jobs run as the uid, gid and groups of their {@link LaunchSpec}, each in its own
 * PID namespace. As any other user the daemon can only run jobs as itself: the ids of the spec
 * are then ignored and there is no PID namespace.
 *
 * <p>Jobs outlive the daemon: they are the keeper's children, and a daemon that starts finds the
 * keeper of its state folder still running and re-adopts its jobs (those that were attached are
 * detached by then). Only a deliberate stop, {@link #close()}, ends them: the keeper sends
 * SIGTERM, then SIGKILL, and exits. Every job is on record ({@link JobJournal}); ended jobs stay
 * listed until {@link #remove(String)}.
 */
public final class Supervisor implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Supervisor.class.getName());
    private static final long STOP_MILLIS = 8000;
    private static final int MOVED_AWAY_KEPT = 256;
    /** How long a node keeps the record of an ended job, by default. */
    public static final Duration DEFAULT_HISTORY = Duration.ofHours(24);
    /** How long an ended detached job stays in {@link #jobs()} (ps, wait, logs without --all). */
    public static final Duration LISTED_AFTER_END = Duration.ofHours(1);

    private final Path stateDir;
    private final boolean privileged;
    /** gestalt-exec, which the keeper is. */
    private final Path helper;
    private final JobRecords records;
    private final Map<String, Job> jobs = new ConcurrentHashMap<>();
    /** The last {@link #MOVED_AWAY_KEPT} jobs that moved to another node (see {@link #movedAway}). */
    private final Map<String, Job> movedAway = new java.util.LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Job> eldest) {
            return size() > MOVED_AWAY_KEPT;
        }
    };
    private final Set<String> starting = new HashSet<>();
    /** Ends the keeper reported before the job's start returned (a job that ends at once). */
    private final Map<String, Integer> earlyEnds = new HashMap<>();
    /** Like earlyEnds, for the ends of programs (P) whose jobs are not in the table yet. */
    private final Map<String, Integer> earlyProgramEnds = new HashMap<>();
    private boolean adopting;
    private final LoadSampler sampler;
    private volatile Keeper keeper;
    private volatile boolean closed;

    /**
     * @param stateDir the node's state folder: the keeper's socket ({@code keeper/}), the logs of
     *                 detached jobs ({@code logs/GPID/{stdout,stderr}}), the job records ({@code jobs/})
     */
    public Supervisor(Path stateDir) {
        this(stateDir, DEFAULT_HISTORY);
    }

    /** @param history how long an ended job stays on record ({@link #history()}) */
    public Supervisor(Path stateDir, Duration history) {
        this(stateDir, Posix.geteuid() == 0, history);
    }

    /** With the privileged chain or not; tests use this to run the unprivileged chain as root. */
    Supervisor(Path stateDir, boolean privileged) {
        this(stateDir, privileged, DEFAULT_HISTORY);
    }

    private Supervisor(Path stateDir, boolean privileged, Duration history) {
        this.stateDir = stateDir.toAbsolutePath();
        this.privileged = privileged;
        try {
            this.helper = ExecHelper.install(stateDir);
            this.records = new JobRecords(this.stateDir, history, jobs::remove);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot prepare " + stateDir + ": " + e.getMessage(), e);
        }
        this.sampler = new LoadSampler(this::running);
        try {
            keeper();
        } catch (LaunchException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
        long listedSince = System.currentTimeMillis() - LISTED_AFTER_END.toMillis();
        for (JobJournal.Entry e : records.entries()) {
            if (e.ended() && e.detached() && e.endMillis() >= listedSince) {
                jobs.putIfAbsent(e.gpid(), records.endedJob(e));
            }
        }
    }

    private List<LocalJob> running() {
        List<LocalJob> out = new ArrayList<>();
        for (Job j : jobs.values()) {
            if (j instanceof LocalJob l) {
                out.add(l);
            }
        }
        return out;
    }

    /** The keeper, connected (and started, and its jobs adopted) when there is none. */
    private synchronized Keeper keeper() throws LaunchException {
        Keeper k = keeper;
        if (k != null && k.isOpen()) {
            return k;
        }
        if (closed) {
            throw new LaunchException(255, "supervisor is closed");
        }
        try {
            Keeper[] self = new Keeper[1];
            k = Keeper.open(helper, stateDir, new Keeper.Listener() {
                @Override
                public void programEnded(String gpid, int code) {
                    onProgramEnd(gpid, code);
                }

                @Override
                public void ended(String gpid, int code) {
                    onEnd(gpid, code, self[0]);
                }

                @Override
                public void moved(String gpid) {
                    onMoved(gpid);
                }

                @Override
                public void lost() {
                    Thread.ofVirtual().start(Supervisor.this::keeperLost);
                }
            });
            self[0] = k;
            adopt(k);
            keeper = k;
            return k;
        } catch (IOException e) {
            throw new LaunchException(255, "cannot reach the node's keeper: " + e.getMessage(), e);
        }
    }

    /**
     * Takes over the jobs a keeper holds: those still running are re-adopted (detached: their
     * clients went with the daemon before), those that ended meanwhile are recorded. A job on
     * record as running that the keeper does not hold died with a keeper that was killed.
     */
    private void adopt(Keeper k) throws IOException {
        synchronized (earlyEnds) {
            adopting = true; // ends reported meanwhile wait until the jobs are in the table
        }
        Set<String> held = new HashSet<>();
        int[] running = new int[1];
        try {
            running[0] = adopt(k, held);
        } finally {
            Map<String, Integer> ends;
            Map<String, Integer> programEnds;
            synchronized (earlyEnds) {
                adopting = false;
                ends = new HashMap<>(earlyEnds);
                earlyEnds.clear();
                programEnds = new HashMap<>(earlyProgramEnds);
                earlyProgramEnds.clear();
            }
            programEnds.forEach(this::onProgramEnd);
            ends.forEach((gpid, code) -> onEnd(gpid, code, k));
        }
        if (!held.isEmpty()) {
            LOG.info("re-adopted " + running[0] + " running jobs from the keeper (pid " + k.pid() + "); "
                + (held.size() - running[0]) + " ended meanwhile");
        }
    }

    private int adopt(Keeper k, Set<String> held) throws IOException {
        int running = 0;
        for (Keeper.Held h : k.list()) {
            held.add(h.gpid());
            JobJournal.Entry e = records.get(h.gpid());
            if (e == null) {
                LOG.warning("the keeper holds " + h.gpid() + ", which has no record: adopted as uid " + h.uid());
            }
            LaunchSpec spec = e != null ? EndedJob.specOf(e)
                : new LaunchSpec(h.gpid(), List.of("?"), Map.of(), Path.of("/"), h.uid(), h.gid(), new int[0],
                    Integer.toString(h.uid()), 022, List.of(), h.tty(), 0, 0, true);
            if (!h.running()) {
                onEnd(h.gpid(), h.code(), k);
                continue;
            }
            running++;
            records.hungUp(h.gpid());
            LocalJob adopted = new LocalJob(spec, k, h.root(), h.program(), true, logDir(h.gpid()), h.stdin(), -1, -1);
            if (h.programCode() >= 0) {
                adopted.programEnded(h.programCode());
            }
            if (jobs.put(h.gpid(), adopted) instanceof LocalJob before) {
                // whoever waits on the object from before the loss
                adopted.exit().thenAccept(before::programEnded);
                adopted.end().thenAccept(c -> before.ended(c, System.currentTimeMillis()));
            }
        }
        for (JobJournal.Entry e : records.entries()) {
            if (!e.ended() && !held.contains(e.gpid())) {
                LOG.warning("job " + e.gpid() + " ended with the node's keeper (killed): recorded as killed");
                onEnd(e.gpid(), ExitStatus.killedBy(Signals.SIGKILL), null); // their parent-death signal
            }
        }
        return running;
    }

    /** The connection to the keeper ended: re-adopt if it still runs; else its jobs died with it. */
    private void keeperLost() {
        if (closed) {
            return;
        }
        synchronized (this) {
            Keeper lost = keeper;
            keeper = null;
            boolean alive = lost != null && ProcTable.stat(lost.pid()).map(s -> s.state() != 'Z' && s.state() != 'X').orElse(false);
            for (LocalJob j : running()) {
                j.release();
                if (!alive && j.isAlive()) {
                    onEnd(j.gpid(), ExitStatus.killedBy(Signals.SIGKILL), null); // their parent-death signal
                }
            }
            if (alive) {
                LOG.warning("lost the connection to the node's keeper (pid " + lost.pid() + "): connecting again");
                try {
                    keeper();
                } catch (LaunchException e) {
                    LOG.warning("cannot connect to the node's keeper again: " + e.getMessage());
                }
            } else {
                LOG.warning("the node's keeper died: its jobs died with it; the next start starts a new keeper");
            }
        }
    }

    /** A job's program ended: its waiters (run, wait) told; the job is held while its other processes live. */
    private void onProgramEnd(String gpid, int code) {
        Job j;
        synchronized (earlyEnds) {
            j = jobs.get(gpid);
            if (adopting || (j == null && starting.contains(gpid))) {
                earlyProgramEnds.put(gpid, code);
                return;
            }
        }
        if (j instanceof LocalJob l) {
            l.programEnded(code);
        }
    }

    /** A job ended: recorded, its waiters told, and the keeper ({@code from}, null: gone) may forget it. */
    private void onEnd(String gpid, int code, Keeper from) {
        Job j;
        synchronized (earlyEnds) {
            j = jobs.get(gpid);
            if (adopting || (j == null && starting.contains(gpid))) {
                earlyEnds.put(gpid, code);
                return;
            }
        }
        long now = records.ended(gpid, code);
        if (j instanceof LocalJob l) {
            l.ended(code, now);
        } else if (j == null) {
            JobJournal.Entry e = records.get(gpid);
            if (e != null) {
                jobs.put(gpid, records.endedJob(e));
            }
        }
        if (from != null) {
            from.forget(gpid);
        }
    }

    /**
     * Starts a job.
     *
     * @throws LaunchException with bash's status and message when the command or working
     *                         directory is unusable (see {@link LaunchException}), 255 when the
     *                         keeper cannot start it or the gpid is taken
     */
    public Job start(LaunchSpec spec) throws LaunchException {
        if (closed) {
            throw new LaunchException(255, "supervisor is closed");
        }
        LaunchSpec own = privileged ? spec : new LaunchSpec(spec.gpid(), spec.argv(), spec.env(), spec.cwd(),
            Posix.geteuid(), Posix.getegid(), new int[0], spec.user(), spec.umask(), spec.limits(), spec.tty(),
            spec.cols(), spec.rows(), spec.detached(), spec.migratable(), spec.pinned());
        synchronized (earlyEnds) {
            if (jobs.containsKey(spec.gpid()) || !starting.add(spec.gpid())) {
                throw new LaunchException(255, "gpid " + spec.gpid() + " is in use");
            }
        }
        try {
            Keeper k = keeper();
            records.started(spec);
            Keeper.Started s;
            try {
                s = k.start(spec.gpid(), LaunchChain.build(own, privileged), spec.env());
            } catch (LaunchException e) {
                records.ended(spec.gpid(), e.exitCode());
                throw e;
            }
            LocalJob job;
            try {
                job = new LocalJob(spec, k, s.root(), s.program(), spec.detached(), logDir(spec.gpid()),
                    s.stdin(), s.stdout(), s.stderr());
            } catch (IOException e) {
                k.signal(spec.gpid(), 9);
                throw new LaunchException(255, "cannot open the stdio of " + spec.gpid() + ": " + e.getMessage(), e);
            }
            return register(job, k);
        } finally {
            doneStarting(spec.gpid());
        }
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
        if (!privileged) {
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
        Job j = jobs.get(gpid);
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
            Path logs = logDir(gpid);
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
        JobJournal.Entry e = records.get(gpid);
        l.holdSignals();
        CriuLazy.LazyDump lazy = null;
        try {
            if (pageServer == null) {
                Criu.dump(l.rootPid(), images, external);
            } else {
                lazy = CriuLazy.dumpLazy(l.rootPid(), images, external, pageServer.address(), pageServer.tls());
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

    /**
     * The ended job {@code gpid} runs again on another node (restarted from a checkpoint): its
     * record here goes, and its logs a minute later. Nothing for a job that runs here.
     */
    public void forgetEnded(String gpid) {
        Job j = jobs.get(gpid);
        if (j != null && j.end().isDone() && jobs.remove(gpid, j)) {
            records.moved(gpid, j.spec().detached());
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
        jobs.remove(l.gpid(), l); // look-ups from now on are answered by the node it runs on now
        records.moved(l.gpid(), true);
        l.moved(node, forward);
        Keeper k = keeper;
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
        if (!(jobs.get(gpid) instanceof LocalJob l) || l.end().isDone()) {
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

    /** The keeper let go of a job that moved (G). */
    private void onMoved(String gpid) {
        LOG.fine(gpid + " moved: gone from this node");
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
        if (!privileged) {
            throw new LaunchException(255, "the node does not run as root (CRIU needs root)");
        }
        synchronized (earlyEnds) {
            if (jobs.containsKey(spec.gpid()) || !starting.add(spec.gpid())) {
                throw new LaunchException(255, "gpid " + spec.gpid() + " is in use on this node");
            }
        }
        Process lazyPages = null;
        boolean ok = false;
        try {
            Keeper k = keeper();
            List<String> restorer;
            try {
                restorer = Criu.restoreCommand(images, List.of(List.of(statusPipe), stdinIds, stdoutIds, stderrIds), pages != null);
                lazyPages = pages == null ? null : CriuLazy.lazyPages(images, pages.address(), pages.port(), pages.tls());
            } catch (IOException e) {
                throw new LaunchException(255, e.getMessage(), e);
            }
            records.restoring(spec);
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
                records.moved(spec.gpid(), true); // no record stays: it runs on where it was
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
                job = new LocalJob(spec, k, s.root(), s.program(), spec.detached(), logDir(spec.gpid()),
                    s.stdin(), s.stdout(), s.stderr());
            } catch (IOException e) {
                k.moved(spec.gpid());
                records.moved(spec.gpid(), true);
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
            doneStarting(spec.gpid());
        }
    }

    /** Post-copy: the source's page server (its address and port) and the TLS options of the move (see MoveKeys). */
    public record PageSource(String address, int port, List<String> tls) {}

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
                records.restored(job.spec(), startMillis);
                register(job, keeper);
                keeper.commit(job.gpid()); // the keeper no longer kills it if this daemon goes
                Criu.resume(job.rootPid());
            }
            return job;
        }

        /** The move did not complete: killed here, no record kept (its source resumes its own copy). */
        public void abort() {
            if (settled.compareAndSet(false, true)) {
                keeper.moved(job.gpid());
                records.moved(job.gpid(), true);
                if (pages != null) {
                    pages.destroyForcibly();
                }
            }
        }
    }

    /** A job just started (or restored) into the table, and what the keeper said of it meanwhile. */
    private LocalJob register(LocalJob job, Keeper k) {
        String gpid = job.gpid();
        Integer early;
        Integer earlyProgram;
        synchronized (earlyEnds) {
            jobs.put(gpid, job);
            early = earlyEnds.remove(gpid);
            earlyProgram = earlyProgramEnds.remove(gpid);
        }
        if (earlyProgram != null) {
            job.programEnded(earlyProgram);
        }
        if (early != null) {
            onEnd(gpid, early, k);
        }
        return job;
    }

    private void doneStarting(String gpid) {
        synchronized (earlyEnds) {
            starting.remove(gpid);
            earlyEnds.remove(gpid);
            earlyProgramEnds.remove(gpid);
        }
    }

    private Path logDir(String gpid) {
        return records.logDir(gpid);
    }

    /** The keeper's pid, or -1 when none is connected (for tests). */
    long keeperPid() {
        Keeper k = keeper;
        return k == null || !k.isOpen() ? -1 : k.pid();
    }

    /** The job of a gpid, running or ended but not removed. */
    public Optional<Job> find(String gpid) {
        return Optional.ofNullable(jobs.get(gpid));
    }

    /**
     * Every job running, and those ended but not removed: a detached one stays for
     * {@link #LISTED_AFTER_END} after its end, so that ps, wait and logs still see it.
     */
    public Collection<Job> jobs() {
        long listedSince = System.currentTimeMillis() - LISTED_AFTER_END.toMillis();
        List<Job> out = new ArrayList<>(jobs.size());
        for (Job j : jobs.values()) {
            var end = j.endTime();
            if (end != null && j.detached() && end.toEpochMilli() < listedSince) {
                jobs.remove(j.gpid(), j);
            } else {
                out.add(j);
            }
        }
        return out;
    }

    /** Records that {@code gpid} is checkpointed every {@code seconds} here (run --checkpoint-every): a restarted daemon goes on. */
    public void checkpointEvery(String gpid, long seconds) {
        records.checkpointEvery(gpid, seconds);
    }

    /** How often the running job {@code gpid} is checkpointed here, as recorded (seconds); 0 when it is not. */
    public long checkpointEvery(String gpid) {
        return records.checkpointEvery(gpid);
    }

    /** Every ended job on record (for the node's configured history), as {@code ps --all} lists them. */
    public List<Job> history() {
        return records.history();
    }

    /**
     * These jobs' state, CPU, memory and command as of one read of their processes in /proc,
     * keyed by GPID: a listing of many jobs costs one pass over their processes, not a pass over
     * every process per job. User and command are those the job was started with. A job whose
     * program ended while what it started runs on is summed over those (its init's tree without it).
     */
    public Map<String, ProcSnapshot> snapshots(Collection<Job> of) {
        Map<String, ProcSnapshot> out = new java.util.HashMap<>();
        if (of.isEmpty()) {
            return out;
        }
        Map<Job, Long> roots = new java.util.LinkedHashMap<>();
        for (Job j : of) {
            // first: a job just started is seen in the table read next
            roots.put(j, j instanceof LocalJob l && l.programGone() ? l.rootPid() : j.pid());
        }
        ProcTable table = ProcTable.readTrees(roots.values());
        roots.forEach((j, pid) -> out.put(j.gpid(), j instanceof LocalJob l && l.programGone()
            ? table.leftBehind(pid, j.spec()) : table.job(pid, j.spec())));
        return out;
    }

    /** Forgets an ended job; a running one (its program, or any other process of it) is kept (and not returned). */
    public Optional<Job> remove(String gpid) {
        Job job = jobs.get(gpid);
        if (job == null || !job.end().isDone()) {
            return Optional.empty();
        }
        jobs.remove(gpid, job);
        return Optional.of(job);
    }

    /** The load of this node's supervised processes (sampled each second). */
    public LoadSample load() {
        return sampler.current();
    }

    /** Every process of this machine, by pid, from /proc (for {@code ps -e}). */
    public List<ProcSnapshot> allOsProcesses() {
        List<ProcSnapshot> out = new ArrayList<>();
        for (ProcTable.Stat s : ProcTable.read().all()) {
            out.add(ProcTable.snapshot(s));
        }
        out.sort(Comparator.comparingLong(ProcSnapshot::pid));
        return out;
    }

    /**
     * A deliberate stop: every job ends (SIGTERM, SIGKILL two seconds later), detached ones too,
     * which are named in the log first; the keeper exits.
     */
    @Override
    public void close() {
        closed = true;
        List<String> detached = new ArrayList<>();
        for (LocalJob j : running()) {
            if (j.detached() && j.isAlive()) {
                detached.add(j.gpid() + " (" + String.join(" ", j.spec().argv()) + ")");
            }
        }
        if (!detached.isEmpty()) {
            LOG.info("stopping: ending " + detached.size() + " detached jobs: " + String.join(", ", detached));
        }
        Keeper k = keeper;
        if (k != null) {
            k.stop(STOP_MILLIS);
        }
        for (LocalJob j : running()) {
            j.release();
        }
        sampler.close();
        records.close();
    }

    /**
     * Lets go of the keeper without stopping it, as a daemon that dies would: the jobs run on,
     * and the next supervisor of this state folder re-adopts them (a daemon whose start failed;
     * tests).
     */
    public void leave() {
        closed = true;
        Keeper k = keeper;
        if (k != null) {
            k.close();
        }
        for (LocalJob j : running()) {
            j.release();
        }
        sampler.close();
        records.close();
    }
}

package dev.gestalt.process.supervisor;

import dev.gestalt.os.Posix;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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
    /** How long a node keeps the record of an ended job, by default. */
    public static final Duration DEFAULT_HISTORY = Duration.ofHours(24);
    /** How long an ended detached job stays in {@link #jobs()} (ps, wait, logs without --all). */
    public static final Duration LISTED_AFTER_END = Duration.ofHours(1);

    private final Path stateDir;
    final boolean privileged;
    /** gestalt-exec, which the keeper is. */
    private final Path helper;
    final JobRecords records;
    final Map<String, Job> jobs = new ConcurrentHashMap<>();
    private final Moves moves = new Moves(this);
    private final Restores restores = new Restores(this);
    private final EarlyEnds early = new EarlyEnds(jobs);
    private final LoadSampler sampler;
    volatile Keeper keeper;
    volatile boolean closed;

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

    List<LocalJob> running() {
        List<LocalJob> out = new ArrayList<>();
        for (Job j : jobs.values()) {
            if (j instanceof LocalJob l) {
                out.add(l);
            }
        }
        return out;
    }

    /** The moves of this node's jobs: checkpoints, restores, and what follows a job that went. */
    public Moves moves() {
        return moves;
    }

    /** The moves that come here: restores, and the page servers of stop-and-copy. */
    public Restores restores() {
        return restores;
    }

    /** Claims {@code gpid} for a start or a restore ({@link #doneStarting} ends it); false when it is in use here. */
    boolean claim(String gpid) {
        return early.claim(gpid);
    }

    /** The keeper connected now, or null. */
    Keeper keeperNow() {
        return keeper;
    }

    /** The keeper, connected (and started, and its jobs adopted) when there is none. */
    synchronized Keeper keeper() throws LaunchException {
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
                    Thread.ofVirtual().start(() -> Adoption.keeperLost(Supervisor.this));
                }
            });
            self[0] = k;
            Adoption.adopt(this, k, early);
            keeper = k;
            return k;
        } catch (IOException e) {
            throw new LaunchException(255, "cannot reach the node's keeper: " + e.getMessage(), e);
        }
    }

    /** A job's program ended: its waiters (run, wait) told; the job is held while its other processes live. */
    void onProgramEnd(String gpid, int code) {
        EarlyEnds.Reported r = early.programEnded(gpid, code);
        if (!r.kept() && r.job() instanceof LocalJob l) {
            l.programEnded(code);
        }
    }

    /** A job ended: recorded, its waiters told, and the keeper ({@code from}, null: gone) may forget it. */
    void onEnd(String gpid, int code, Keeper from) {
        EarlyEnds.Reported r = early.ended(gpid, code);
        if (r.kept()) {
            return;
        }
        Job j = r.job();
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
        if (!claim(spec.gpid())) {
            throw new LaunchException(255, "gpid " + spec.gpid() + " is in use");
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
     * The ended job {@code gpid} runs again on another node (restarted from a checkpoint): its
     * record here goes, and its logs a minute later. Nothing for a job that runs here.
     */
    public void forgetEnded(String gpid) {
        Job j = jobs.get(gpid);
        if (j != null && j.end().isDone() && jobs.remove(gpid, j)) {
            records.moved(gpid, j.spec().detached());
        }
    }

    /** The keeper let go of a job that moved (G). */
    private void onMoved(String gpid) {
        LOG.fine(gpid + " moved: gone from this node");
    }

    /** A job just started (or restored) into the table, and what the keeper said of it meanwhile. */
    LocalJob register(LocalJob job, Keeper k) {
        early.register(job, LocalJob::programEnded, (j, code) -> onEnd(j.gpid(), code, k));
        return job;
    }

    /** The start or restore of {@code gpid} is over (see {@link #claim}). */
    void doneStarting(String gpid) {
        early.doneStarting(gpid);
    }

    Path logDir(String gpid) {
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
        ProcTable.read().all().forEach(s -> out.add(ProcTable.snapshot(s)));
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
        releaseAll();
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
        releaseAll();
    }

    /** The daemon's ends of every job, its sampler and its records close (after {@link #close}, {@link #leave}). */
    private void releaseAll() {
        running().forEach(LocalJob::release);
        sampler.close();
        records.close();
    }
}

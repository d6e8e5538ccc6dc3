package dev.gestalt.process.supervisor;

import com.pty4j.PtyProcess;
import com.pty4j.PtyProcessBuilder;
import com.pty4j.WinSize;
import dev.gestalt.os.Limit;
import dev.gestalt.os.Posix;
import dev.gestalt.os.ProcessContext;
import dev.gestalt.os.Signals;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Starts and holds the local processes of a node (see the package description for the launch
 * chain).
 *
 * <p>As root, jobs run as the uid, gid and groups of their {@link LaunchSpec}, each in its own
 * PID namespace. As any other user the daemon can only run jobs as itself: the ids of the spec
 * are then ignored and there is no PID namespace.
 *
 * <p>No job outlives the daemon: each one's wrapper chain gets SIGKILL when the daemon's
 * spawning thread ends, so also when the daemon is killed with SIGKILL; {@link #close()} kills
 * every job, detached ones included (their logs stay in the state folder). Jobs stay listed
 * after they end until {@link #remove(String)}.
 */
public final class Supervisor implements AutoCloseable {
    private final Path stateDir;
    private final boolean privileged;
    private final List<Limit> daemonLimits;
    /** gestalt-exec, which every job is started through. */
    private final Path helper;
    private final Spawner spawner = new Spawner();
    /** Starts the jobs without a terminal or log files (most of them); null when disabled. */
    private final SpawnServer spawnServer;
    private final Map<String, LocalJob> jobs = new ConcurrentHashMap<>();
    private final java.util.Set<String> starting = new java.util.HashSet<>();
    private final LoadSampler sampler;
    private volatile boolean closed;

    /**
     * @param stateDir where the logs of detached jobs go: {@code stateDir/logs/GPID/{stdout,stderr}}
     */
    public Supervisor(Path stateDir) {
        this(stateDir, Posix.geteuid() == 0);
    }

    /** With the privileged chain or not; tests use this to run the unprivileged chain as root. */
    Supervisor(Path stateDir, boolean privileged) {
        this.stateDir = stateDir;
        this.privileged = privileged;
        this.daemonLimits = ProcessContext.limits();
        try {
            this.helper = ExecHelper.install(stateDir);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot install the job launcher: " + e.getMessage(), e);
        }
        this.sampler = new LoadSampler(() -> List.copyOf(jobs.values()));
        // -Dgestalt.spawn-server=false: every job through ProcessBuilder (to compare, or to rule it out)
        this.spawnServer = Boolean.parseBoolean(System.getProperty("gestalt.spawn-server", "true"))
            ? new SpawnServer(helper, spawner) : null;
    }

    /**
     * Starts a job.
     *
     * @throws LaunchException with bash's status and message when the command or working
     *                         directory is unusable (see {@link LaunchException}), 255 when the
     *                         wrappers cannot be spawned or the gpid is taken
     */
    public Job start(LaunchSpec spec) throws LaunchException {
        if (closed) {
            throw new LaunchException(255, "supervisor is closed");
        }
        int uid = privileged ? spec.uid() : Posix.geteuid();
        int gid = privileged ? spec.gid() : Posix.getegid();
        int[] groups = privileged ? spec.groups() : new int[0];
        CommandResolver.checkDirectory(spec.cwd(), uid, gid, groups);
        Path program = CommandResolver.resolve(spec.argv().getFirst(), spec.env(), spec.cwd(), uid, gid, groups);
        List<String> command = new ArrayList<>(spec.argv());
        if (!spec.env().containsKey("PATH") && !command.getFirst().contains("/")) {
            command.set(0, program.toString()); // execvp's own default PATH differs from bash's
        }
        List<String> chain = LaunchChain.build(helper, spec, command, privileged, daemonLimits);
        synchronized (jobs) {
            if (jobs.containsKey(spec.gpid()) || !starting.add(spec.gpid())) {
                throw new LaunchException(255, "gpid " + spec.gpid() + " is in use");
            }
        }
        try {
            Path logDir = spec.detached() ? createLogDir(spec.gpid()) : null;
            LocalJob job;
            try {
                job = spawn(spec, chain, logDir);
            } catch (Exception e) {
                throw new LaunchException(255, "cannot start " + spec.argv().getFirst() + ": " + e.getMessage(), e);
            }
            jobs.put(spec.gpid(), job);
            return job;
        } finally {
            synchronized (jobs) {
                starting.remove(spec.gpid());
            }
        }
    }

    /** The spawn server's pid, or -1 when none runs (for tests). */
    long spawnServerPid() {
        return spawnServer == null ? -1 : spawnServer.serverPid();
    }

    private LocalJob spawn(LaunchSpec spec, List<String> chain, Path logDir) throws Exception {
        if (spec.tty()) {
            PtyProcess pty = spawner.spawn(spec.umask(), () -> {
                PtyProcess p = new PtyProcessBuilder(chain.toArray(String[]::new))
                        .setEnvironment(spec.env())
                        .setDirectory(spec.cwd().toString())
                        .setInitialColumns(spec.cols())
                        .setInitialRows(spec.rows())
                        .setRedirectErrorStream(true)
                        .setConsole(false)
                        .start();
                p.setWinSize(new WinSize(spec.cols(), spec.rows())); // the first size may read 0x0
                return p;
            });
            return new LocalJob(spec, pty, pty, privileged, logDir);
        }
        if (logDir == null && spawnServer != null) {
            Process process = spawnServer.start(chain.subList(1, chain.size()), spec.env(), spec.cwd(), spec.umask());
            return new LocalJob(spec, process, null, privileged, null);
        }
        ProcessBuilder pb = new ProcessBuilder(chain).directory(spec.cwd().toFile());
        pb.environment().clear();
        pb.environment().putAll(spec.env());
        if (logDir != null) {
            pb.redirectInput(new File("/dev/null"))
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(logDir.resolve(LogStream.STDOUT.fileName()).toFile()))
                    .redirectError(ProcessBuilder.Redirect.appendTo(logDir.resolve(LogStream.STDERR.fileName()).toFile()));
        }
        Process process = spawner.spawn(spec.umask(), pb::start);
        return new LocalJob(spec, process, null, privileged, logDir);
    }

    private Path createLogDir(String gpid) throws LaunchException {
        Path dir = stateDir.resolve("logs").resolve(gpid);
        try {
            Files.createDirectories(dir);
            for (LogStream s : LogStream.values()) {
                Path f = dir.resolve(s.fileName());
                if (!Files.exists(f)) {
                    Files.createFile(f);
                }
            }
            return dir;
        } catch (IOException e) {
            throw new LaunchException(255, "cannot create the log folder " + dir + ": " + e.getMessage(), e);
        }
    }

    /** The job of a gpid, running or ended but not removed. */
    public Optional<Job> find(String gpid) {
        return Optional.ofNullable(jobs.get(gpid));
    }

    /** Every job, running or ended but not removed. */
    public Collection<Job> jobs() {
        return List.copyOf(jobs.values());
    }

    /**
     * These jobs' state, CPU, memory and command as of one read of their processes in /proc,
     * keyed by GPID: a listing of many jobs costs one pass over their processes, not a pass over
     * every process per job. User and command are those the job was started with.
     */
    public Map<String, ProcSnapshot> snapshots(Collection<Job> of) {
        Map<String, ProcSnapshot> out = new java.util.HashMap<>();
        if (of.isEmpty()) {
            return out;
        }
        Map<Job, Long> programs = new java.util.LinkedHashMap<>();
        for (Job j : of) {
            programs.put(j, j.pid()); // first: a job just started is seen in the table read next
        }
        ProcTable table = ProcTable.readTrees(programs.values());
        programs.forEach((j, pid) -> out.put(j.gpid(), table.job(pid, j.spec())));
        return out;
    }

    /** Forgets an ended job; a running one is kept (and not returned). */
    public Optional<Job> remove(String gpid) {
        LocalJob job = jobs.get(gpid);
        if (job == null || job.isAlive() || !job.exit().isDone()) {
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

    /** Kills every job (detached ones too), waits a little for them, stops the threads. */
    @Override
    public void close() {
        closed = true;
        for (LocalJob job : jobs.values()) {
            job.signal(Signals.SIGKILL);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        for (LocalJob job : jobs.values()) {
            try {
                job.exit().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (Exception e) {
                // still going: ending the spawner thread below sends it SIGKILL (parent death)
            }
        }
        sampler.close();
        if (spawnServer != null) {
            spawnServer.close();
        }
        spawner.close();
    }
}

package dev.gestalt.process.supervisor;

import com.pty4j.PtyProcess;
import com.pty4j.WinSize;
import dev.gestalt.os.Pipes;
import dev.gestalt.os.Posix;
import dev.gestalt.os.Signals;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** A running (or ended) job: the spawned wrapper and the streams to it. */
final class LocalJob implements Job {
    /** Signals the init does not forward (it cannot catch them, or treats them as its own fault), as tini. */
    private static final Set<Integer> NOT_FORWARDED = Set.of(4, 5, 6, 7, 8, 9, 11, 17, 19, 21, 22, 31);
    private static final long DISCOVERY_MILLIS = 10_000;

    private final LaunchSpec spec;
    private final Process process;
    private final PtyProcess pty;
    private final boolean privileged;
    private final LogReader logs;
    private final CompletableFuture<Integer> exit = new CompletableFuture<>();
    private final OutputStream stdin;
    private volatile boolean outputComplete;
    private long initPid = -1;
    private long programPid = -1;
    /** Counted down once the init and program pids are known, or known to be unknowable. */
    private final CountDownLatch discovered = new CountDownLatch(1);

    /**
     * @param logDir the log folder of a detached job (null otherwise); for a detached tty job
     *               the terminal's output is copied there by a thread of this job
     */
    LocalJob(LaunchSpec spec, Process process, PtyProcess pty, boolean privileged, Path logDir) {
        this.spec = spec;
        this.process = process;
        this.pty = pty;
        this.privileged = privileged;
        this.logs = logDir == null ? null : new LogReader(logDir, () -> outputComplete);
        this.stdin = spec.detached() && pty == null ? failingStdin() : new FlushingOutputStream(process.getOutputStream());
        Thread drainer = null;
        if (logDir != null && pty != null) {
            drainer = Thread.ofPlatform().daemon(true).name("gestalt-log-" + spec.gpid())
                    .start(() -> drain(pty.getInputStream(), logs.path(LogStream.STDOUT)));
        }
        Thread copying = drainer;
        Thread.ofVirtual().name("gestalt-wait-" + spec.gpid()).start(() -> {
            int code = waitForExit();
            if (copying != null) {
                try {
                    copying.join();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            outputComplete = true;
            exit.complete(code);
        });
        // Off the start path: the job's output is pumped and its start reported meanwhile; what
        // needs the pids (signals, stats) waits for this.
        Thread.ofVirtual().name("gestalt-discover-" + spec.gpid()).start(() -> {
            try {
                discover();
            } finally {
                discovered.countDown();
            }
        });
    }

    private void awaitDiscovery() {
        try {
            discovered.await(DISCOVERY_MILLIS, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Pipe buffer for a job's stdout and stderr (the kernel's default is 64 KiB). */
    static final int PIPE_SIZE = 1 << 20;
    /**
     * Pipe buffer for a job's stdin: one stdin message (the client's reads are at most 256 KiB),
     * so that writing one rarely waits for the job to read it in 16 KiB pieces (a wake-up each).
     * It is also what a job that does not read accepts before its writer blocks.
     */
    static final int STDIN_PIPE_SIZE = 256 * 1024;

    private final java.util.concurrent.atomic.AtomicBoolean bulk = new java.util.concurrent.atomic.AtomicBoolean();

    /**
     * Bigger pipes to and from the job: when the daemon's reader falls behind, each read(2) takes
     * up to a pipe's worth, and each message carries as much, so fewer messages per byte; stdin
     * takes a whole message. Only once bulk data is seen: an unprivileged daemon's pipes count
     * against its user's pipe quota (fs/pipe-user-pages-soft), beyond which the kernel gives that
     * user's new pipes a minimal buffer; many small jobs must not use it up.
     */
    @Override
    public void bulkIo() {
        if (pty != null || logs != null || !bulk.compareAndSet(false, true)) {
            return;
        }
        long pid = process.pid();
        Pipes.resize(pid, 1, PIPE_SIZE);
        Pipes.resize(pid, 2, PIPE_SIZE);
        Pipes.resize(pid, 0, STDIN_PIPE_SIZE);
    }

    private int waitForExit() {
        while (true) {
            try {
                int code = process.waitFor();
                // pty4j reports a death by signal N as -N (ProcessBuilder: 128+N already)
                return code < 0 ? 128 - code : code;
            } catch (InterruptedException e) {
                // keep waiting: the exit status must be collected
            }
        }
    }

    /** Finds the init and the program below the wrapper; they appear moments after the spawn. */
    private void discover() {
        long deadline = System.currentTimeMillis() + DISCOVERY_MILLIS;
        long pauseNanos = 100_000;
        long init = privileged ? -1 : process.pid();
        while (System.currentTimeMillis() < deadline && process.isAlive()) {
            if (init < 0) {
                init = first(ProcTable.children(process.pid()));
            }
            if (init > 0) {
                long program = first(ProcTable.children(init));
                if (program > 0) {
                    synchronized (this) {
                        initPid = init;
                        programPid = program;
                    }
                    return;
                }
            }
            try {
                // gestalt-exec forks the program within a fraction of a millisecond: look again
                // soon (sub-millisecond sleeps are honoured since JDK 21), then back off to 1 ms,
                // so that a burst of short jobs does not cost a wake-up every 0.1 ms each.
                Thread.sleep(java.time.Duration.ofNanos(pauseNanos));
                pauseNanos = Math.min(1_000_000, pauseNanos * 2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        synchronized (this) {
            initPid = init;
        }
    }

    private static long first(List<Long> pids) {
        return pids.isEmpty() ? -1 : pids.getFirst();
    }

    private static void drain(InputStream in, Path file) {
        try (in; OutputStream out = Files.newOutputStream(file, StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
            byte[] buf = new byte[16384];
            int n;
            while ((n = in.read(buf)) >= 0) {
                out.write(buf, 0, n);
                out.flush();
            }
        } catch (IOException e) {
            // the terminal closed (EIO after the last process left it): the log is complete
        }
    }

    private static OutputStream failingStdin() {
        return new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                throw new IOException("a detached job's stdin is /dev/null");
            }
        };
    }

    /** The wrappers' root process (what the JVM spawned). */
    long rootPid() {
        return process.pid();
    }

    boolean isAlive() {
        return process.isAlive();
    }

    @Override
    public String gpid() {
        return spec.gpid();
    }

    @Override
    public LaunchSpec spec() {
        return spec;
    }

    @Override
    public long pid() {
        awaitDiscovery();
        return pidIfKnown();
    }

    @Override
    public synchronized long pidIfKnown() {
        return programPid;
    }

    @Override
    public OutputStream stdin() {
        return stdin;
    }

    @Override
    public void closeStdin() {
        try {
            if (pty != null) {
                stdin.write(4); // VEOF at the start of a line ends the input of a cooked terminal
                stdin.flush();
            } else {
                stdin.close();
            }
        } catch (IOException e) {
            // the program is gone or stopped reading: its input is closed already
        }
    }

    @Override
    public InputStream stdout() {
        if (logs != null) {
            return logs.follow(LogStream.STDOUT, 0);
        }
        return pty != null ? pty.getInputStream() : process.getInputStream();
    }

    @Override
    public InputStream stderr() {
        if (logs != null) {
            return logs.follow(LogStream.STDERR, 0);
        }
        return pty != null ? InputStream.nullInputStream() : process.getErrorStream();
    }

    @Override
    public void signal(int sig) {
        long program = pid(); // waits for discovery: a signal right after the start must not be lost
        long init;
        synchronized (this) {
            init = initPid;
        }
        if (!process.isAlive()) {
            return;
        }
        if (sig == Signals.SIGKILL) {
            kill(program, init);
        } else if (program > 0) {
            // Straight to the program's group, as the init would: right after the spawn the init may
            // forward to a group its child has not formed yet (ESRCH), and the signal would be lost.
            if (!Posix.killpg(program, sig)) {
                Posix.kill(program, sig);
            }
        } else if (!NOT_FORWARDED.contains(sig) && init > 0) {
            Posix.kill(init, sig);
        }
    }

    /**
     * Kills the program's group. With a PID namespace that ends the init, and the kernel then kills
     * every process left in the namespace. Without one (unprivileged daemon) every descendant of
     * the init is killed too, from a list taken before the first kill (once the program is dead its
     * orphans move away from the init). If the chain is still up a moment later, its root is killed.
     */
    private void kill(long program, long init) {
        List<ProcTable.Stat> tree = privileged || init <= 0 ? List.of() : ProcTable.read().tree(init);
        if (program > 0) {
            Posix.killpg(program, Signals.SIGKILL);
            Posix.kill(program, Signals.SIGKILL);
        }
        for (ProcTable.Stat s : tree) {
            if (s.pid() != init) {
                Posix.kill(s.pid(), Signals.SIGKILL);
            }
        }
        if (program <= 0) {
            process.destroyForcibly();
            return;
        }
        Thread.ofVirtual().start(() -> {
            try {
                if (!process.waitFor(2, java.util.concurrent.TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
    }

    @Override
    public void resize(int cols, int rows) {
        if (pty != null && process.isAlive()) {
            pty.setWinSize(new WinSize(cols, rows));
        }
    }

    @Override
    public CompletableFuture<Integer> exit() {
        return exit.copy();
    }

    @Override
    public ProcSnapshot stats() {
        long program = pid();
        ProcTable table = ProcTable.read();
        List<ProcTable.Stat> tree = program > 0 ? table.tree(program) : List.of();
        if (tree.isEmpty()) {
            // ended: state X as ps(1) names a dead process
            return new ProcSnapshot(program, spec.user(), 'X', 0, 0, 0, java.time.Instant.EPOCH,
                    String.join(" ", spec.argv()));
        }
        return ProcTable.summed(tree.getFirst(), tree);
    }

    @Override
    public boolean detached() {
        return spec.detached();
    }

    @Override
    public LogReader logs() {
        if (logs == null) {
            throw new IllegalStateException("job " + gpid() + " is not detached");
        }
        return logs;
    }
}

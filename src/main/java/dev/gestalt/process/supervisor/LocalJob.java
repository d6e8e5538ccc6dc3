package dev.gestalt.process.supervisor;


import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Logger;

/**
 * A job the node's keeper holds, as the daemon sees it: the keeper's descriptors for its stdio
 * (opened through /proc, see {@link Keeper#fd}), its pids, and its end as the keeper reports it.
 * Signals, window sizes and the hang-up go through the keeper; nothing here signals a pid.
 *
 * <p>Its program's end ({@link #exit()}) and its own ({@link #end()}, its last process) are two
 * moments: what the program started in the background outlives it, as in a shell.
 *
 * <p>A job is attached (its stdio streamed to a client) or detached (its output in log files).
 * An attached job becomes detached when its client goes ({@link #hangUp()}), and every job the
 * daemon re-adopts after a restart is detached: its client went with the old daemon.
 */
final class LocalJob implements Job {
    private static final Logger LOG = Logger.getLogger(LocalJob.class.getName());

    /** Pipe buffer for a job's stdout and stderr (the kernel's default is 64 KiB). */
    static final int PIPE_SIZE = 1 << 20;
    /**
     * Pipe buffer for a job's stdin: one stdin message (the client's reads are at most 256 KiB),
     * so that writing one rarely waits for the job to read it in 16 KiB pieces (a wake-up each).
     * It is also what a job that does not read accepts before its writer blocks.
     */
    static final int STDIN_PIPE_SIZE = 256 * 1024;

    private final LaunchSpec spec;
    private final Keeper keeper;
    private final long root;
    private final long program;
    private final Path logDir;
    private final CompletableFuture<Integer> exit = new CompletableFuture<>();
    private final CompletableFuture<Integer> end = new CompletableFuture<>();
    private final CompletableFuture<String> movedTo = new CompletableFuture<>();
    /** How many times it moved to another node before it came here. */
    private volatile int moves;
    /** Signals that came while the job was frozen for a move (see {@link #holdSignals}); null when not frozen. */
    private List<Integer> held;
    /** Once it moved: where signals sent to it here go on to, in order (see {@link #moved}). */
    private SignalForward forward;
    private final AtomicBoolean bulk = new AtomicBoolean();
    private final AtomicBoolean hungUp = new AtomicBoolean();
    /** The daemon's ends of the job's stdio. */
    private final JobStdio stdio;
    private volatile boolean detached;
    private volatile long endMillis;
    private final LogReader logs;

    /**
     * @param stdin  the keeper's descriptor for the job's input (-1: none), and likewise
     * @param stdout for its output and
     * @param stderr its error output
     */
    LocalJob(LaunchSpec spec, Keeper keeper, long root, long program, boolean detached, Path logDir,
             int stdin, int stdout, int stderr) throws IOException {
        this.spec = spec;
        this.keeper = keeper;
        this.root = root;
        this.program = program;
        this.logDir = logDir;
        this.detached = detached;
        this.logs = new LogReader(logDir, () -> end.isDone() || movedTo.isDone());
        this.stdio = new JobStdio(spec.gpid(), keeper, root, spec.tty(), detached, stdin, stdout, stderr);
    }

    /** The pipes of its stdin, stdout and stderr as CRIU names them (pipe:[INODE]), null where none. */
    List<String> pipeNames() {
        return stdio.pipeNames();
    }

    /** What waits unread in its stdin pipe (it is frozen), for where it runs next (see {@link JobStdio#takeUnreadInput}). */
    byte[] takeUnreadInput() throws IOException {
        return stdio.takeUnreadInput();
    }

    /** The keeper says the program ended; the job goes on while any other process of it lives. */
    void programEnded(int code) {
        exit.complete(code);
    }

    /** The keeper says the job ended, its last process (and its output is in its logs). */
    void ended(int code, long millis) {
        endMillis = millis;
        exit.complete(code); // when the program's end was not told apart (its init was killed)
        end.complete(exit.join());
    }

    /**
     * It runs on {@code node} now (restored there): whoever waits here asks there. The signals
     * held while it was frozen, then any sent to this copy later (a sender that found it here
     * just before it went), go to {@code forward}, in the order they came.
     */
    void moved(String node, SignalForward forward) {
        java.util.concurrent.Future<?> last = null;
        synchronized (this) { // queued in order under the lock, waited for outside it
            if (held != null) {
                for (int sig : held) {
                    last = forward.send(sig);
                }
                held = null;
            }
            this.forward = forward;
        }
        if (last != null) {
            SignalForward.await(last); // delivered there before the home node sends there itself
        }
        movedTo.complete(node);
        release();
    }

    void moves(int n) {
        moves = n;
    }

    @Override
    public int moves() {
        return moves;
    }

    @Override
    public CompletableFuture<String> movedTo() {
        return movedTo;
    }

    @Override
    public java.time.Instant endTime() {
        return end.isDone() ? java.time.Instant.ofEpochMilli(endMillis) : null;
    }

    /** The wrappers' root process: the job's init, the keeper's child. */
    long rootPid() {
        return root;
    }

    /** Its program ended while other processes of the job live on. */
    boolean programGone() {
        return exit.isDone() && !end.isDone();
    }

    boolean isAlive() {
        return !end.isDone();
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
        return program;
    }

    /**
     * Bigger pipes to and from the job: when the daemon's reader falls behind, each read(2) takes
     * up to a pipe's worth, and each message carries as much, so fewer messages per byte; stdin
     * takes a whole message. Only once bulk data is seen: an unprivileged daemon's pipes count
     * against its user's pipe quota (fs/pipe-user-pages-soft), beyond which the kernel gives that
     * user's new pipes a minimal buffer; many small jobs must not use it up.
     */
    @Override
    public void bulkIo() {
        if (spec.tty() || detached || !bulk.compareAndSet(false, true)) {
            return;
        }
        stdio.enlarge(PIPE_SIZE, STDIN_PIPE_SIZE); // the init holds none of the job's stdio any more
    }

    @Override
    public OutputStream stdin() {
        return stdio.stdin("job " + gpid() + " has no input: " + (detached ? "it is detached" : "its input was closed"));
    }

    @Override
    public void closeStdin() {
        stdio.closeStdin();
    }

    @Override
    public InputStream stdout() {
        return stdio.output(1, logs, LogStream.STDOUT);
    }

    @Override
    public InputStream stderr() {
        return stdio.output(2, logs, LogStream.STDERR);
    }

    @Override
    public void signal(int sig) {
        if (sig == 1 || sig == 2 || sig == 3 || sig == 15) {
            // an interrupt (Ctrl-C, kill): the client need not wait for what the program leaves
            // running, as `cat` in `CMD | cat` dies of the same Ctrl-C
            exit.thenRun(this::letGo);
        }
        java.util.concurrent.Future<?> sent;
        synchronized (this) {
            if (held != null) {
                held.add(sig);
                return;
            }
            sent = forward == null ? null : forward.send(sig);
        }
        if (sent != null) {
            SignalForward.await(sent); // answered once it is there: a later signal cannot overtake it
            return;
        }
        if (!end.isDone()) {
            keeper.signal(gpid(), sig);
        }
    }

    /**
     * The job is about to be frozen for a move: signals from now on are kept, not sent to the
     * frozen copy (which is killed if the move succeeds), until {@link #releaseSignals} (it
     * stays) or {@link #moved} (they go on to where it went).
     */
    synchronized void holdSignals() {
        held = new ArrayList<>();
    }

    /** Ends {@link #holdSignals}: the job runs on here; the signals kept meanwhile, in order. */
    synchronized List<Integer> releaseSignals() {
        List<Integer> out = held == null ? List.of() : List.copyOf(held);
        held = null;
        return out;
    }

    @Override
    public void resize(int cols, int rows) {
        if (spec.tty() && !exit.isDone()) {
            keeper.resize(gpid(), rows, cols);
        }
    }

    /**
     * The job's client is gone: SIGHUP, as after a dropped ssh session, and if the job survives
     * that it goes on detached (the keeper copies its further output to its log files). The
     * daemon's own ends are closed first, which ends whatever still reads or writes them.
     */
    @Override
    public void hangUp() {
        if (detached || end.isDone() || !hungUp.compareAndSet(false, true)) {
            return;
        }
        stdio.toLogs(); // a reader that comes from now on reads the logs
        detached = true;
        stdio.close(spec.tty()); // a terminal's input stays: attach types into it
        keeper.hangUp(gpid());
    }

    /**
     * The program ended after an interrupt while what it started runs on, holding its output:
     * that goes on as a detached job (no SIGHUP; its further output to its log files), and the
     * daemon's readers see the end of the output, so that `run` returns with the program's code.
     */
    private void letGo() {
        if (detached || end.isDone() || spec.tty() || !stdio.readsOutput() || !hungUp.compareAndSet(false, true)) {
            return;
        }
        Thread.ofVirtual().name("let-go-" + gpid()).start(() -> { // it may wait for a reader: not on the keeper's thread
            JobStdio.LetGo said = stdio.letGo();
            detached = true;
            stdio.closeAfterReaders();
            LOG.info(gpid() + ": its program ended after an interrupt; what it started, if anything, goes on detached ("
                + (said.stdoutRead() ? "stdout read" : said.stdoutKept() + " bytes of stdout kept for its reader") + ", "
                + (said.stderrRead() ? "stderr read" : said.stderrKept() + " bytes of stderr kept") + ")");
            keeper.detach(gpid());
        });
    }

    @Override
    public void clientDone() {
        if (!detached) {
            stdio.close(false);
        }
    }

    /** The daemon lets go of the job (it stops, or lost the keeper): its descriptors close. */
    void release() {
        stdio.close(false);
    }

    @Override
    public CompletableFuture<Integer> exit() {
        return exit.copy();
    }

    @Override
    public CompletableFuture<Integer> end() {
        return end.copy();
    }

    @Override
    public ProcSnapshot stats() {
        ProcTable table = ProcTable.read();
        List<ProcTable.Stat> tree = List.of();
        if (program > 0 && !exit.isDone()) {
            tree = table.tree(program);
        } else if (!end.isDone()) {
            // the program ended, what it started lives on: the init's tree without the init
            List<ProcTable.Stat> all = table.tree(root);
            tree = all.size() > 1 ? all.subList(1, all.size()) : List.of();
        }
        if (tree.isEmpty()) {
            // ended: state X as ps(1) names a dead process
            return new ProcSnapshot(program, spec.user(), 'X', 0, 0, 0, java.time.Instant.EPOCH,
                    String.join(" ", spec.argv()));
        }
        return ProcTable.summed(tree.getFirst(), tree);
    }

    @Override
    public boolean detached() {
        return detached;
    }

    @Override
    public LogReader logs() {
        if (!detached) {
            throw new IllegalStateException("job " + gpid() + " is not detached");
        }
        return logs;
    }

    /** The job's log folder (whether or not it has logs yet). */
    Path logDir() {
        return logDir;
    }
}

package dev.gestalt.process.supervisor;

import java.io.InputStream;
import java.io.OutputStream;
import java.util.concurrent.CompletableFuture;

/**
 * A job of this node, as the rest of the code sees it: one user program (and whatever it starts)
 * under its init, started and held by the node's keeper (see {@link Supervisor}); or one that
 * has ended and is still on record.
 */
public interface Job {
    /** The global process id it was started with. */
    String gpid();

    /** How it was started. */
    LaunchSpec spec();

    /**
     * The host pid of the user's program (PID 2 of its namespace; not of its init), or -1 when
     * the program ended before the keeper could see it.
     */
    long pid();

    /** {@link #pid()}: known from the start. */
    default long pidIfKnown() {
        return pid();
    }

    /**
     * The program's standard input. Writes block while the program does not read (pipe or
     * terminal backpressure); nothing is buffered beyond the kernel's pipe. For tty jobs this
     * is the terminal's keyboard: 0x03 interrupts. For detached non-tty jobs stdin is
     * {@code /dev/null} and writing fails.
     */
    OutputStream stdin();

    /** Ends the input: closes the pipe, or for a tty job types the end-of-file character (^D). */
    void closeStdin();

    /**
     * Bulk data goes through the job's stdio pipes (a read or write filled a default 64 KiB
     * pipe): give them bigger buffers, so that each read(2) and write(2) moves more. Best effort;
     * done once; nothing for terminals and detached jobs.
     */
    default void bulkIo() {}

    /**
     * The program's standard output; for tty jobs everything the terminal shows. For detached
     * jobs the log followed from its start (see {@link #logs()} to start elsewhere).
     */
    InputStream stdout();

    /** The program's standard error; empty for tty jobs. */
    InputStream stderr();

    /**
     * Sends a signal to the job, through the job's init (see src/main/c/job.c): to the program's
     * process group while the program runs, to every process of the job after it ended. The init
     * is the keeper's child and the program the init's, so no signal can reach a recycled pid.
     * SIGKILL ends every process of the job.
     */
    void signal(int sig);

    /**
     * The job's client is gone: the job gets SIGHUP, as after a dropped ssh session, and if it
     * survives that it goes on as a detached job (its further output to its log files). Nothing
     * for a detached or ended job.
     */
    void hangUp();

    /**
     * Its client got the program's code and went: the daemon's ends of its output close (what the
     * program left running writes on into the keeper's copy of the pipes).
     */
    default void clientDone() {}

    /** Sets the terminal's size (tty jobs; the program gets SIGWINCH); ignored otherwise. */
    void resize(int cols, int rows);

    /**
     * Completes when the program ends, with the shell's view of it: its code, 128+N when killed by
     * N. What `run` returns (once the output has reached its end too) and `wait` waits for.
     */
    CompletableFuture<Integer> exit();

    /**
     * Completes when the job's last process has ended: what the program started in the background
     * outlives it, as in a shell, and the job (ps, kill, logs) with it. The program's code.
     */
    CompletableFuture<Integer> end();

    /**
     * Completes, with the node's name, when the job was restored on another node and left this
     * one (its exit and end then never complete here: they happen there).
     */
    default CompletableFuture<String> movedTo() {
        return new CompletableFuture<>();
    }

    /** How many times it moved to another node. */
    default int moves() {
        return 0;
    }

    /** When it ended, its last process; null while any runs. */
    java.time.Instant endTime();

    /** State, CPU, memory and command of the program's process tree, now. */
    ProcSnapshot stats();

    /** Whether output goes to log files. */
    boolean detached();

    /**
     * The logs of a detached job.
     *
     * @throws IllegalStateException for a job that is not detached
     */
    LogReader logs();
}

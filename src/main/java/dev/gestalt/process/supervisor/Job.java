package dev.gestalt.process.supervisor;

import java.io.InputStream;
import java.io.OutputStream;
import java.util.concurrent.CompletableFuture;

/**
 * A job started by the {@link Supervisor}: one user program (and whatever it starts) under the
 * launch wrappers.
 */
public interface Job {
    /** The global process id it was started with. */
    String gpid();

    /** How it was started. */
    LaunchSpec spec();

    /**
     * The host pid of the user's program (PID 2 of its namespace; not of the wrappers), or -1
     * when the program ended before the supervisor could see it. Right after the start this
     * waits (briefly) until the supervisor has seen it.
     */
    long pid();

    /** {@link #pid()} without waiting: -1 also while the supervisor has not seen the program yet. */
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
     * Sends a signal to the job's process group, through the job's init where it forwards it. SIGKILL
     * kills the program's group directly, which ends the init and with it the whole namespace.
     */
    void signal(int sig);

    /** Sets the terminal's size (tty jobs; the program gets SIGWINCH); ignored otherwise. */
    void resize(int cols, int rows);

    /** Completes with the shell's view of the end: the program's code, 128+N when killed by N. */
    CompletableFuture<Integer> exit();

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

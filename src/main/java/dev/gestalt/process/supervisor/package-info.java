/**
 * The supervisor: starts and holds the local processes of a node.
 *
 * <p>Every job is started by the node's keeper ({@code gestalt-exec --keeper}, src/main/c: one
 * small static program, copied out of the jar by {@link dev.gestalt.process.supervisor.ExecHelper}),
 * a process apart from the daemon that is the parent of every job's init, records their ends,
 * and outlives the daemon ({@link dev.gestalt.process.supervisor.Keeper} is the daemon's side of
 * it). A job is an init and below it the program (src/main/c/job.c): the init has a PID
 * namespace of its own (as root), a session, the caller's limits and ids; it forwards signals
 * to the program's group and reaps; the program enters its working directory and finds its
 * command as the caller, and execs it with exactly the caller's environment — the shape
 * checkpointing with CRIU needs. Exit codes are the shell's (N, or 128+N when killed by signal N).
 *
 * <p>{@link dev.gestalt.process.supervisor.Supervisor} is the entry point;
 * {@link dev.gestalt.process.supervisor.Job} is what the rest of the code sees of a job;
 * {@link dev.gestalt.process.supervisor.JobJournal} keeps the record that lets a restarted daemon
 * re-adopt its jobs; {@link dev.gestalt.process.supervisor.Moves} freezes a job for a move or a
 * checkpoint (CRIU, {@link dev.gestalt.process.supervisor.Criu}), and
 * {@link dev.gestalt.process.supervisor.Restores} restores one that came from another node.
 */
package dev.gestalt.process.supervisor;

/**
 * The supervisor: starts and holds the local processes of a node.
 *
 * <p>Every job starts through {@code gestalt-exec} (src/main/c/gestalt-exec.c, one static
 * binary in the jar), chosen so that it can later be checkpointed and migrated with CRIU:
 * <pre>
 * gestalt-exec [-w ROWS,COLS] -p -s|-c [-r RES=SOFT:HARD]... [-G GROUPS -g GID -u UID [-i]] -- CMD ARGS
 * </pre>
 * It sets the parent-death signal, makes a PID namespace whose PID 1 is a minimal init (new
 * session, reaps, forwards signals to the program's group, as {@code tini -s -g} does) and
 * runs the program as PID 2 with the caller's limits and identity: what {@code setpriv
 * --pdeathsig}, {@code unshare --pid --fork --kill-child}, {@code setsid}, {@code tini},
 * {@code prlimit} and {@code setpriv --reuid} did in six execs, in one (1.3 ms instead of 4.7).
 * Exit codes are the shell's (N, or 128+N when killed by signal N). Processes are spawned from
 * one long-lived platform thread, so that the parent-death signal only fires when the daemon dies.
 * {@link dev.gestalt.process.supervisor.Supervisor} is the entry point.
 */
package dev.gestalt.process.supervisor;

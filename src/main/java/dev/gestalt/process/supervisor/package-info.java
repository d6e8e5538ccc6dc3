/**
 * The supervisor: starts and holds the local processes of a node.
 *
 * <p>Every job runs under a fixed chain of small, proven programs (util-linux and tini),
 * chosen so that it can later be checkpointed and migrated with CRIU:
 * <pre>
 * setpriv --pdeathsig KILL -- unshare --pid --fork --kill-child setsid [--ctty]
 *     tini -s -g -- prlimit LIMITS -- setpriv --reuid U --regid G --groups GS [--inh-caps -all] -- CMD ARGS
 * </pre>
 * The program runs as PID 2 of its own PID namespace with tini as PID 1; exit codes are the
 * shell's (N, or 128+N when killed by signal N). Processes are spawned from one long-lived
 * platform thread, so that the parent-death signal only fires when the daemon dies.
 * {@link dev.gestalt.process.supervisor.Supervisor} is the entry point.
 */
package dev.gestalt.process.supervisor;

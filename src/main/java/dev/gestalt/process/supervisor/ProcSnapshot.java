package dev.gestalt.process.supervisor;

import java.time.Instant;

/**
 * One process (or a job's process tree, summed) as {@code ps} shows it.
 *
 * @param pid        host process id (of the tree's root for a job)
 * @param user       the effective user's name, or the uid as text
 * @param state      the kernel's state letter (R, S, D, Z, T, ...)
 * @param cpuPercent CPU time over lifetime, in percent of one CPU (as {@code ps %CPU})
 * @param rssBytes   resident memory
 * @param cpuMillis  user + system CPU time, of the process and its waited-for children
 * @param startTime  when the process started
 * @param command    the command line, arguments separated by spaces ([comm] for kernel threads)
 */
public record ProcSnapshot(long pid, String user, char state, double cpuPercent, long rssBytes,
                           long cpuMillis, Instant startTime, String command) {}

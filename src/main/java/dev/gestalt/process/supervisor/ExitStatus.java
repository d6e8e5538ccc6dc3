package dev.gestalt.process.supervisor;

/**
 * How a job ended, as a shell says it, in one place on the Java side: N for exit(N), 128+N when
 * killed by signal N. The keeper reports every end in this form already (shell_status in
 * src/main/c/job.c, the one place on the C side); what the daemon says without it (jobs that died
 * with a killed keeper) it says here. ExitStatusTest checks that both sides, and bash, agree.
 */
public final class ExitStatus {
    private ExitStatus() {}

    /** The status of a process killed by {@code signal}. */
    public static int killedBy(int signal) {
        if (signal < 1 || signal > 64) {
            throw new IllegalArgumentException("no signal " + signal);
        }
        return 128 + signal;
    }
}

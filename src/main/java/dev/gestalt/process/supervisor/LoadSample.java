package dev.gestalt.process.supervisor;

/**
 * How busy the supervised processes keep this node.
 *
 * @param load      CPUs' worth of CPU time the supervised process trees used recently,
 *                  smoothed like the kernel's loadavg with a time constant of about 5 s
 *                  (1.0 = one CPU busy all the time)
 * @param processes how many processes the supervised programs have now (wrappers not counted)
 * @param busy      how many jobs want {@value #BUSY} of a CPU or more (smoothed alike)
 * @param jobLoads  what each job wants of a CPU, by GPID: the CPU it used or, when it was found
 *                  runnable (running or waiting for a CPU), all of one; smoothed alike
 */
public record LoadSample(double load, int processes, int busy, java.util.Map<String, Double> jobLoads) {
    /** What a job uses at least to count as busy: a tenth of a CPU. */
    public static final double BUSY = 0.1;

    public LoadSample(double load, int processes) {
        this(load, processes, 0, java.util.Map.of());
    }
}

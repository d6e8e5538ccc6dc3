package dev.gestalt.process.supervisor;

/**
 * How busy the supervised processes keep this node.
 *
 * @param load      CPUs' worth of CPU time the supervised process trees used recently,
 *                  smoothed like the kernel's loadavg with a time constant of about 5 s
 *                  (1.0 = one CPU busy all the time)
 * @param processes how many processes the supervised programs have now (wrappers not counted)
 */
public record LoadSample(double load, int processes) {}

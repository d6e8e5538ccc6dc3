package dev.gestalt.process.supervisor;

import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Measures the CPU that the supervised process trees use, once a second (less often when a
 * sample is dear: see {@link #sampleAndReschedule}), and smooths it like
 * the kernel's loadavg (exponential decay, time constant {@value #TAU_SECONDS} s).
 *
 * <p>A tree's CPU time is the sum of utime+stime+cutime+cstime of its live processes: a child
 * that was reaped has been added to its parent's c-times, so it is counted once. Several local
 * nodes share one kernel, so only what this supervisor started counts, never /proc/loadavg.
 */
final class LoadSampler implements AutoCloseable {
    static final double TAU_SECONDS = 5.0;
    private static final long PERIOD_MILLIS = 1000;
    private static final long COST_FACTOR = 300;
    private static final java.lang.management.ThreadMXBean THREADS = java.lang.management.ManagementFactory.getThreadMXBean();

    private final Supplier<Collection<LocalJob>> jobs;
    private final ScheduledExecutorService timer;
    private final Map<String, Long> lastTicks = new HashMap<>();
    private Map<String, Double> jobLoads = new HashMap<>();
    private long lastSampleNanos = System.nanoTime();
    private volatile LoadSample current = new LoadSample(0, 0);
    private double load;

    LoadSampler(Supplier<Collection<LocalJob>> jobs) {
        this.jobs = jobs;
        this.timer = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().name("gestalt-load").daemon(true).factory());
        timer.schedule(this::sampleAndReschedule, PERIOD_MILLIS, TimeUnit.MILLISECONDS);
    }

    /**
     * One sample, then the next after a second, or later when samples are dear: a sample reads
     * every process of every job (thousands with a thousand jobs), and the sampler must not be
     * what keeps an idle node busy. A sample that took C of CPU is followed by a pause of
     * {@value #COST_FACTOR} C at least, so the sampler uses at most a third of 1% of a core.
     */
    private void sampleAndReschedule() {
        long cpu = THREADS.getCurrentThreadCpuTime();
        sampleQuietly();
        long costMillis = (THREADS.getCurrentThreadCpuTime() - cpu) / 1_000_000;
        try {
            timer.schedule(this::sampleAndReschedule, Math.max(PERIOD_MILLIS, COST_FACTOR * costMillis),
                    TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // closed
        }
    }

    LoadSample current() {
        return current;
    }

    private void sampleQuietly() {
        try {
            sample();
        } catch (RuntimeException e) {
            // a process vanishing mid-read is normal; the next sample recovers
        }
    }

    private synchronized void sample() {
        long now = System.nanoTime();
        double seconds = Math.max(1e-3, (now - lastSampleNanos) / 1e9);
        lastSampleNanos = now;
        List<LocalJob> live = new java.util.ArrayList<>();
        List<Long> roots = new java.util.ArrayList<>();
        for (LocalJob job : jobs.get()) {
            if (job.isAlive()) {
                live.add(job);
                roots.add(job.rootPid());
            }
        }
        ProcTable table = ProcTable.readTrees(roots);
        long usedTicks = 0;
        int processes = 0;
        Map<String, Long> seen = new HashMap<>();
        Map<String, Double> loads = new HashMap<>();
        double decay = Math.exp(-seconds / TAU_SECONDS);
        int busy = 0;
        for (LocalJob job : live) {
            long ticks = 0;
            boolean runnable = false;
            for (ProcTable.Stat s : table.tree(job.rootPid())) {
                ticks += s.ticksWithChildren();
                runnable |= s.state() == 'R';
            }
            long program = job.pidIfKnown();
            if (program > 0) {
                processes += table.tree(program).size();
            }
            Long before = lastTicks.get(job.gpid());
            long used = before == null ? 0 : Math.max(0, ticks - before);
            usedTicks += used;
            seen.put(job.gpid(), ticks);
            if (before == null) {
                continue; // new here: its use is known from the next sample on
            }
            // what it wants of the CPU: what it got, or, where it had to wait for a CPU, how often it
            // was found runnable (a starved process uses little, and wants much)
            double jobRate = Math.max(used / (double) ProcTable.CLK_TCK / seconds, runnable ? 1.0 : 0.0);
            Double was = jobLoads.get(job.gpid());
            double jobLoad = was == null ? jobRate : was * decay + jobRate * (1 - decay);
            loads.put(job.gpid(), jobLoad);
            if (jobLoad >= LoadSample.BUSY) {
                busy++;
            }
        }
        lastTicks.clear();
        lastTicks.putAll(seen);
        jobLoads = loads;
        double rate = usedTicks / (double) ProcTable.CLK_TCK / seconds;
        load = load * decay + rate * (1 - decay);
        current = new LoadSample(load, processes, busy, Map.copyOf(loads));
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}

package dev.gestalt.process.supervisor;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * The ends the keeper reports before their job is in the node's table, kept until it is: a job
 * that ends at once (its end comes before its start returned), and every end that comes while a
 * keeper's jobs are being adopted. Two kinds: a program's end (P) and a job's own (X).
 */
final class EarlyEnds {
    private final Map<String, Job> jobs;
    /** GPIDs claimed for a start or a restore, not in the table yet. */
    private final Set<String> starting = new HashSet<>();
    /** Ends of jobs (X), and of programs (P), that came before their job was in the table. */
    private final Map<String, Integer> ends = new HashMap<>();
    private final Map<String, Integer> programEnds = new HashMap<>();
    private boolean adopting;

    /** @param jobs the node's table of jobs, which this guards for starts and adoptions */
    EarlyEnds(Map<String, Job> jobs) {
        this.jobs = jobs;
    }

    /** An end the keeper reported, as the table sees it now: kept for later, or for {@code job} (null: none here). */
    record Reported(boolean kept, Job job) {}

    /** The GPID is claimed for a start or a restore ({@link #doneStarting} ends it); false when it is in use here. */
    synchronized boolean claim(String gpid) {
        return !jobs.containsKey(gpid) && starting.add(gpid);
    }

    /** The start or restore of {@code gpid} is over (registered or failed): what was kept for it goes. */
    synchronized void doneStarting(String gpid) {
        starting.remove(gpid);
        ends.remove(gpid);
        programEnds.remove(gpid);
    }

    /** The program of {@code gpid} ended (P). */
    Reported programEnded(String gpid, int code) {
        return report(programEnds, gpid, code);
    }

    /** The job {@code gpid} ended (X). */
    Reported ended(String gpid, int code) {
        return report(ends, gpid, code);
    }

    private synchronized Reported report(Map<String, Integer> into, String gpid, int code) {
        Job j = jobs.get(gpid);
        if (adopting || (j == null && starting.contains(gpid))) {
            into.put(gpid, code);
            return new Reported(true, null);
        }
        return new Reported(false, j);
    }

    /**
     * Puts a job just started or restored into the table, and hands what was kept of its ends
     * meanwhile to {@code programEnd} and {@code end}, in that order.
     */
    void register(LocalJob job, BiConsumer<LocalJob, Integer> programEnd, BiConsumer<LocalJob, Integer> end) {
        Integer early;
        Integer earlyProgram;
        synchronized (this) {
            jobs.put(job.gpid(), job);
            early = ends.remove(job.gpid());
            earlyProgram = programEnds.remove(job.gpid());
        }
        if (earlyProgram != null) {
            programEnd.accept(job, earlyProgram);
        }
        if (early != null) {
            end.accept(job, early);
        }
    }

    /** A keeper's jobs are being adopted: every end reported meanwhile is kept ({@link #adopted}). */
    synchronized void adopting() {
        adopting = true;
    }

    /**
     * The adoption is over: every end kept meanwhile goes to {@code programEnd} (programs first)
     * and {@code end}, by GPID.
     */
    void adopted(BiConsumer<String, Integer> programEnd, BiConsumer<String, Integer> end) {
        Map<String, Integer> p;
        Map<String, Integer> e;
        synchronized (this) {
            adopting = false;
            p = new HashMap<>(programEnds);
            e = new HashMap<>(ends);
            programEnds.clear();
            ends.clear();
        }
        p.forEach(programEnd);
        e.forEach(end);
    }
}

package dev.gestalt.process.supervisor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.logging.Logger;

/**
 * What a node keeps of its jobs beyond their lives: the {@link JobJournal}, and the log folders
 * of detached jobs ({@code STATE/logs/GPID}), for a history of a configured length and at most
 * {@link #MAX_ENDED} ended jobs. Older records go, with their logs, every ten minutes, at start
 * and as the journal grows.
 */
final class JobRecords implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(JobRecords.class.getName());
    /** Ended jobs on record at most (the newest are kept): the records are bounded in number too. */
    static final int MAX_ENDED = 10_000;

    private final Path logs;
    private final Duration history;
    private final JobJournal journal;
    private final Consumer<String> dropped;
    private final ScheduledExecutorService housekeeping = Executors.newSingleThreadScheduledExecutor(
        Thread.ofPlatform().name("gestalt-records").daemon(true).factory());

    /**
     * @param history how long the record of an ended job is kept
     * @param dropped told each GPID whose record goes
     */
    JobRecords(Path stateDir, Duration history, Consumer<String> dropped) throws IOException {
        this.logs = stateDir.resolve("logs");
        this.history = history;
        this.dropped = dropped;
        this.journal = new JobJournal(stateDir);
        housekeeping.scheduleWithFixedDelay(this::prune, 0, 10, TimeUnit.MINUTES);
    }

    /** A job's log folder (whether or not it has one). */
    Path logDir(String gpid) {
        return logs.resolve(gpid);
    }

    JobJournal.Entry get(String gpid) {
        return journal.get(gpid);
    }

    List<JobJournal.Entry> entries() {
        return journal.entries();
    }

    void started(LaunchSpec spec) {
        journal.started(spec, System.currentTimeMillis());
        if (journal.lines() == 4 * MAX_ENDED) {
            housekeeping.execute(this::prune); // once per so many lines: the journal stays bounded
        }
    }

    /** A job about to be restored here: its logs of an earlier stay here, if any, go (the keeper writes them anew, whole). */
    void restoring(LaunchSpec spec) {
        if (spec.detached()) {
            deleteLogs(logDir(spec.gpid()));
        }
    }

    /**
     * A job restored here from another node runs here now (the move's commit), started at
     * {@code startMillis} there. Not before: a daemon that dies between the restore and the
     * commit must not find, once back, a record of a process that never ran here.
     */
    void restored(LaunchSpec spec, long startMillis) {
        journal.started(spec, startMillis);
    }

    /** A job that moved to another node: its record goes, and its logs (copied there) a minute later. */
    void moved(String gpid, boolean detached) {
        journal.moved(gpid);
        if (detached) {
            housekeeping.schedule(() -> {
                if (journal.get(gpid) == null) { // unless it came back meanwhile
                    deleteLogs(logDir(gpid));
                }
            }, 1, TimeUnit.MINUTES); // readers may still be following them
        }
    }

    void hungUp(String gpid) {
        journal.hungUp(gpid);
    }

    void checkpointEvery(String gpid, long seconds) {
        journal.checkpointEvery(gpid, seconds);
    }

    long checkpointEvery(String gpid) {
        return journal.checkpointEvery(gpid);
    }

    /** Records the end now; returns when that was (epoch millis). */
    long ended(String gpid, int code) {
        long now = System.currentTimeMillis();
        journal.ended(gpid, now, code);
        return now;
    }

    /** The job of an ended record, as ps, wait and logs see it. */
    EndedJob endedJob(JobJournal.Entry e) {
        return new EndedJob(e, logDir(e.gpid()));
    }

    /** Every ended job on record. */
    List<Job> history() {
        List<Job> out = new ArrayList<>();
        for (JobJournal.Entry e : journal.entries()) {
            if (e.ended()) {
                out.add(endedJob(e));
            }
        }
        return out;
    }

    /** Drops what is past the history, or beyond the newest {@link #MAX_ENDED} ended jobs. */
    private void prune() {
        long cutoff = System.currentTimeMillis() - history.toMillis();
        try {
            for (JobJournal.Entry e : journal.compact(e -> !e.ended() || e.endMillis() >= cutoff, MAX_ENDED)) {
                dropped.accept(e.gpid());
                if (e.detached()) {
                    deleteLogs(logDir(e.gpid()));
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.warning("cannot prune the job records: " + e);
        }
    }

    /** A job's log folder and files (a link in it is removed, never followed). */
    private static void deleteLogs(Path dir) {
        try (var files = Files.list(dir)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.deleteIfExists(f);
            }
            Files.deleteIfExists(dir);
        } catch (NoSuchFileException e) {
            // never written, or gone
        } catch (IOException e) {
            LOG.warning("cannot delete " + dir + ": " + e.getMessage());
        }
    }

    @Override
    public void close() {
        housekeeping.shutdownNow();
        journal.close();
    }
}

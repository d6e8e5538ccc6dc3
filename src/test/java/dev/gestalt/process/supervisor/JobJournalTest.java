package dev.gestalt.process.supervisor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The job journal across a restart of the daemon: what a move and --no-migrate leave in it. */
class JobJournalTest {

    private static LaunchSpec spec(String gpid, boolean migratable) {
        return new LaunchSpec(gpid, List.of("sleep", "9"), Map.of(), Path.of("/"), 1000, 1000, new int[0], "alice", 022,
            List.of(), false, 0, 0, true, migratable);
    }

    @Test
    void aJobThatMovedAwayLeavesNoRecordAndNoMigrateIsKept(@TempDir Path state) throws Exception {
        try (var j = new JobJournal(state)) {
            j.started(spec("1-1", true), 1000);
            j.started(spec("1-2", false), 2000);
            j.started(spec("1-3", true), 3000);
            j.moved("1-1");
            j.ended("1-3", 4000, 7);
            assertNull(j.get("1-1"), "moved: its new node records it");
        }
        try (var again = new JobJournal(state)) { // as a restarted daemon reads it
            assertNull(again.get("1-1"), "a move is in the journal: the job is not adopted, nor recorded as killed");
            assertFalse(again.get("1-2").migratable(), "--no-migrate outlives the daemon");
            assertTrue(again.get("1-3").migratable());
            assertEquals(7, again.get("1-3").code());
            assertEquals(List.of("1-2", "1-3"), again.entries().stream().map(JobJournal.Entry::gpid).toList());
            assertFalse(EndedJob.specOf(again.get("1-2")).migratable(), "and reaches the adopted job's spec");
        }
    }

    @Test
    void aJobThatComesBackIsRecordedAgain(@TempDir Path state) throws Exception {
        try (var j = new JobJournal(state)) {
            j.started(spec("2-5", true), 1000);
            j.moved("2-5");
            j.started(spec("2-5", true), 1000); // restored here again, its start time kept
        }
        try (var again = new JobJournal(state)) {
            assertEquals(1000, again.get("2-5").startMillis());
            assertFalse(again.get("2-5").ended());
        }
    }

    @Test
    void aPeriodOfCheckpointsOutlivesTheDaemonAndGoesWithItsJob(@TempDir Path state) throws Exception {
        try (var j = new JobJournal(state)) {
            j.checkpointEvery("3-1", 30); // a restored job: its period comes before its start's record
            j.started(spec("3-1", true), 1000);
            j.started(spec("3-2", true), 2000);
            j.checkpointEvery("3-2", 60);
            j.started(spec("3-3", true), 3000);
            j.checkpointEvery("3-3", 10);
            j.started(spec("3-4", true), 4000);
            j.checkpointEvery("3-4", 20);
            j.moved("3-3");
            j.ended("3-4", 5000, 0);
            assertEquals(0, j.checkpointEvery("3-9"), "none for a job without one");
        }
        try (var again = new JobJournal(state)) { // as a restarted daemon reads it
            assertEquals(30, again.checkpointEvery("3-1"));
            assertEquals(60, again.checkpointEvery("3-2"));
            assertEquals(0, again.checkpointEvery("3-3"), "it moved away: its new node checkpoints it");
            assertEquals(0, again.checkpointEvery("3-4"), "it ended");
            again.compact(e -> true, 10);
        }
        try (var compacted = new JobJournal(state)) {
            assertEquals(30, compacted.checkpointEvery("3-1"), "kept through a compaction");
            assertEquals(60, compacted.checkpointEvery("3-2"));
            assertEquals(0, compacted.checkpointEvery("3-4"));
        }
    }
}

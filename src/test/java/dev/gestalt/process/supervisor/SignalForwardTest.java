package dev.gestalt.process.supervisor;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The signals of a job that moved away go on to where it went, and a sender is answered only once
 * its signal is there: one it sends next through the job's new node (the home node's record says
 * the new node once the move is done) cannot overtake it (MigrateIT saw TERM, sent after the move,
 * reach the process before the USR1 kept while it was frozen).
 */
class SignalForwardTest {
    static Supervisor supervisor;

    @BeforeAll
    static void start(@TempDir Path dir) {
        supervisor = new Supervisor(dir);
    }

    @AfterAll
    static void stop() {
        supervisor.close();
    }

    /** A target slow to take signals: each is there 300 ms after it was sent, and listed then. */
    private static final class SlowTarget implements SignalForward {
        final List<Integer> there = new CopyOnWriteArrayList<>();
        private final java.util.concurrent.ExecutorService one = Executors.newSingleThreadExecutor();

        @Override
        public CompletableFuture<?> send(int sig) {
            return CompletableFuture.runAsync(() -> {
                try {
                    Thread.sleep(300);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                there.add(sig);
            }, one);
        }
    }

    @Test
    void theSignalsKeptWhileFrozenAreThereBeforeTheMoveIsDone() throws Exception {
        var job = (LocalJob) supervisor.start(Specs.builder("sleep", "60").detached().build());
        job.holdSignals();
        job.signal(10); // kept: the job is frozen for its move
        job.signal(12);
        var target = new SlowTarget();
        assertTrue(supervisor.moves().superseded(job.gpid(), "node3", target));
        assertEquals(List.of(10, 12), target.there, "both delivered there before the move counts as done");
        assertEquals("node3", job.movedTo().get(5, TimeUnit.SECONDS));
    }

    @Test
    void aSignalSentHereAfterTheMoveIsAnsweredOnceItIsThere() throws Exception {
        var job = (LocalJob) supervisor.start(Specs.builder("sleep", "60").detached().build());
        var target = new SlowTarget();
        assertTrue(supervisor.moves().superseded(job.gpid(), "node3", target));
        job.signal(10);
        assertEquals(List.of(10), target.there, "the sender was answered after it got there");
        job.signal(15);
        assertEquals(List.of(10, 15), target.there);
        assertTrue(supervisor.moves().movedAway(job.gpid()).isPresent(), "a sender that looked it up here still finds it");
    }
}

package dev.gestalt.process.supervisor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real CRIU, the real keeper: a job restored from its checkpoint does not run until its move
 * commits (before, criu restore was not told to leave it stopped, and it ran at once: before the
 * daemon checked in /proc who it runs as, and beside its frozen source), then runs.
 */
class MovesTest {

    private static long beats(Path f) throws Exception {
        return Files.exists(f) ? Files.readAllLines(f).size() : 0;
    }

    @Test
    void aRestoredJobIsStoppedUntilItsMoveCommits(@TempDir Path dir) throws Exception {
        Path images = Files.createDirectory(dir.resolve("images"));
        Path beats = dir.resolve("beats"); // the job's heartbeat: a line every 50 ms
        try (var s = new Supervisor(dir.resolve("state"))) {
            LaunchSpec spec = Specs.builder("sh", "-c", "while :; do echo . >> " + beats + "; sleep 0.05; done")
                .detached().build();
            Job job = s.start(spec);
            Specs.await("it beats", Duration.ofSeconds(30), () -> {
                try {
                    return beats(beats) >= 3;
                } catch (Exception e) {
                    return false;
                }
            });
            Moves.Checkpoint c = s.moves().checkpoint(spec.gpid(), images, null);
            s.moves().stop(c); // as when it went: the frozen copy is killed
            assertEquals(137, job.exit().get(30, TimeUnit.SECONDS));
            job.end().get(30, TimeUnit.SECONDS);
            s.forgetEnded(spec.gpid());
            Restores.Restored r = s.restores().restore(spec, System.currentTimeMillis(), 1, images, c.statusPipe(),
                c.stdinIds(), c.stdoutIds(), c.stderrIds(), null, 60);
            long before = beats(beats);
            Thread.sleep(1000);
            assertEquals(before, beats(beats), "nothing of it ran before the commit");
            for (long pid : Criu.tree(r.rootPid())) {
                String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
                char state = stat.charAt(stat.lastIndexOf(')') + 2);
                assertEquals('T', state, "process " + pid + " of the restored tree is stopped: " + stat);
            }
            Job running = r.commit();
            Specs.await("it beats again once committed", Duration.ofSeconds(30), () -> {
                try {
                    return beats(beats) > before + 3;
                } catch (Exception e) {
                    return false;
                }
            });
            running.signal(9);
            assertEquals(137, running.exit().get(30, TimeUnit.SECONDS));
            assertTrue(running.moves() >= 1);
        }
    }
}

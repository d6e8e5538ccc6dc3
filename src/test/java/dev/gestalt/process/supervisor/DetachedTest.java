package dev.gestalt.process.supervisor;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static dev.gestalt.process.supervisor.Specs.exitOf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Detached jobs write to log files that can be read from any offset and followed. */
class DetachedTest {
    static final Duration WAIT = Duration.ofSeconds(30);
    static Path state;
    static Supervisor supervisor;

    @BeforeAll
    static void start(@TempDir Path dir) {
        state = dir;
        supervisor = new Supervisor(dir);
    }

    @AfterAll
    static void stop() {
        supervisor.close();
    }

    @Test
    void logsAreWrittenAndFollowed() throws Exception {
        LaunchSpec spec = Specs.builder("sh", "-c", "echo one; echo err >&2; read x || echo eof; sleep 1; echo two")
                .detached().build();
        Job job = supervisor.start(spec);
        assertTrue(job.detached());
        Path dir = state.resolve("logs").resolve(spec.gpid());
        assertEquals(dir.resolve("stdout"), job.logs().path(LogStream.STDOUT));
        InputStream follow = job.logs().follow(LogStream.STDOUT, 0);
        String all = new String(follow.readAllBytes(), StandardCharsets.UTF_8);
        assertEquals("one\neof\ntwo\n", all, "follow reads until the job ends");
        assertEquals(0, exitOf(job));
        assertEquals("err\n", Files.readString(dir.resolve("stderr")));
        assertEquals("two\n", new String(job.logs().read(LogStream.STDOUT, 8, 100), StandardCharsets.UTF_8));
        assertEquals(12, job.logs().size(LogStream.STDOUT));
        assertEquals(0, job.logs().next(LogStream.STDOUT, 12, 100).length, "end of a finished log");
        assertThrows(java.io.IOException.class, () -> job.stdin().write(1));
    }

    @Test
    void nextBlocksUntilOutputArrives() throws Exception {
        Job job = supervisor.start(Specs.builder("sh", "-c", "sleep 1; echo late").detached().build());
        long t0 = System.nanoTime();
        byte[] chunk = job.logs().next(LogStream.STDOUT, 0, 100);
        assertEquals("late\n", new String(chunk, StandardCharsets.UTF_8));
        assertTrue(System.nanoTime() - t0 > 500_000_000L, "next waited for the output");
        assertEquals(0, exitOf(job));
    }

    @Test
    void detachedTtyJobCanBeAttachedLater() throws Exception {
        Job job = supervisor.start(Specs.builder("sh", "-c",
                "echo started; while read line; do echo \"got $line\"; done").detached().tty(80, 24).build());
        Specs.readUntil(job.logs().follow(LogStream.STDOUT, 0), "started", WAIT);
        // an attacher: output from the current position on, input to the terminal
        long position = job.logs().size(LogStream.STDOUT);
        InputStream attached = job.logs().follow(LogStream.STDOUT, position);
        job.stdin().write("hello\n".getBytes(StandardCharsets.UTF_8));
        String seen = Specs.readUntil(attached, "got hello", WAIT);
        assertFalse(seen.contains("started"), "only output after the attach point: " + seen);
        job.closeStdin();
        assertEquals(0, exitOf(job));
        String log = Files.readString(job.logs().path(LogStream.STDOUT));
        assertTrue(log.contains("started") && log.contains("got hello"), log);
    }

    @Test
    void logsOfAJobThatIsNotDetachedAreRefused() throws Exception {
        Job job = supervisor.start(Specs.of("true"));
        assertThrows(IllegalStateException.class, job::logs);
        assertEquals(0, exitOf(job));
    }
}

package dev.gestalt.process.supervisor;

import dev.gestalt.os.Posix;
import dev.gestalt.os.Signals;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static dev.gestalt.process.supervisor.Specs.exitOf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Jobs without a terminal start through the resident spawn server ({@code gestalt-exec
 * --server}): what they get must not differ from a spawn of their own, and the server's death
 * must leave no job behind and no start failing after it.
 */
class SpawnServerTest {
    @RegisterExtension
    static final SupervisorFixture fixture = new SupervisorFixture();

    @Test
    void jobsStartThroughTheServerAsItsChildren() throws Exception {
        Job job = fixture.get().start(Specs.of("sh", "-c", "read x; echo \"got $x\""));
        long server = fixture.get().spawnServerPid();
        assertTrue(server > 0, "a spawn server runs");
        long root = ((LocalJob) job).rootPid();
        String stat = Files.readString(Path.of("/proc", Long.toString(root), "stat"));
        long parent = Long.parseLong(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[1]);
        assertEquals(server, parent, "the job's wrapper is the server's child");
        job.stdin().write("line\n".getBytes(StandardCharsets.UTF_8));
        job.closeStdin();
        assertEquals("got line", Specs.readUntil(job.stdout(), "\n", Duration.ofSeconds(30)).strip());
        assertEquals(0, exitOf(job));
    }

    @Test
    void manyConcurrentStartsEachGetTheirOwnPipesAndStatus() throws Exception {
        var pool = Executors.newFixedThreadPool(16);
        try {
            List<Future<String>> results = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                int n = i;
                Callable<String> task = () -> {
                    Job job = fixture.get().start(Specs.of("sh", "-c", "echo out" + n + "; echo err" + n + " >&2; exit " + (n % 50)));
                    String out = new String(job.stdout().readAllBytes(), StandardCharsets.UTF_8);
                    String err = new String(job.stderr().readAllBytes(), StandardCharsets.UTF_8);
                    return out + err + exitOf(job);
                };
                results.add(pool.submit(task));
            }
            for (int i = 0; i < results.size(); i++) {
                assertEquals("out" + i + "\nerr" + i + "\n" + (i % 50), results.get(i).get());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void requestsLargerThanThePipeFromManyThreadsAtOnce() throws Exception {
        // 64 starts of 100 KB each (a single string may have 128 KiB at most: MAX_ARG_STRLEN) fill the request pipe (64 KiB) many times over while replies
        // flow the other way: neither side may wait for the other
        String big = "x".repeat(100_000);
        var env = new java.util.HashMap<>(Specs.ENV);
        env.put("BIG", big);
        var pool = Executors.newFixedThreadPool(32);
        try {
            List<Future<String>> results = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                results.add(pool.submit(() -> {
                    Job job = fixture.get().start(Specs.builder("sh", "-c", "echo ${#BIG}").env(env).build());
                    String out = new String(job.stdout().readAllBytes(), StandardCharsets.UTF_8);
                    return out.strip() + " " + exitOf(job);
                }));
            }
            for (Future<String> r : results) {
                assertEquals(big.length() + " 0", r.get());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aNulInTheCommandIsRefusedNotSplit() {
        LaunchException e = org.junit.jupiter.api.Assertions.assertThrows(LaunchException.class,
                () -> fixture.get().start(Specs.of("echo", "a\0b")));
        assertEquals(255, e.exitCode());
        assertTrue(e.getMessage().contains("invalid null character"), e.getMessage());
    }

    @Test
    void whenTheServerDiesItsJobsDieAndTheNextStartGetsANewServer() throws Exception {
        Job job = fixture.get().start(Specs.of("sleep", "347"));
        long program = job.pid();
        assertTrue(program > 0);
        long server = fixture.get().spawnServerPid();
        assertTrue(Posix.kill(server, Signals.SIGKILL));
        assertEquals(137, exitOf(job), "the job ends with its server (parent-death signal)");
        Specs.await("the program gone", Duration.ofSeconds(30), () -> !Files.exists(Path.of("/proc", Long.toString(program))));
        Job next = fixture.get().start(Specs.of("sh", "-c", "exit 4"));
        assertEquals(4, exitOf(next));
        long again = fixture.get().spawnServerPid();
        assertTrue(again > 0);
        assertNotEquals(server, again);
        assertFalse(Files.exists(Path.of("/proc", Long.toString(program))), "no orphan of the dead server's job");
    }
}

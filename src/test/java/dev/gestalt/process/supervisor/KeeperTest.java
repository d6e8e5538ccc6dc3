package dev.gestalt.process.supervisor;

import dev.gestalt.os.Posix;
import dev.gestalt.os.Signals;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

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
 * Every job starts through the node's keeper ({@code gestalt-exec --keeper}): its children, in a
 * session of its own, holding them while a daemon comes and goes; a killed keeper takes its jobs
 * with it and the next start gets a new one.
 */
class KeeperTest {
    @RegisterExtension
    static final SupervisorFixture fixture = new SupervisorFixture();

    static long parentOf(long pid) throws Exception {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        return Long.parseLong(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[1]);
    }

    static long sessionOf(long pid) throws Exception {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        return Long.parseLong(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[3]);
    }

    @Test
    void jobsAreTheKeepersChildrenAndItRunsOnItsOwn() throws Exception {
        Job job = fixture.get().start(Specs.of("sh", "-c", "read x; echo \"got $x\""));
        long keeper = fixture.get().keeperPid();
        assertTrue(keeper > 0, "a keeper runs");
        assertEquals(keeper, parentOf(((LocalJob) job).rootPid()), "the job's init is the keeper's child");
        assertEquals(keeper, sessionOf(keeper), "the keeper leads a session of its own");
        assertNotEquals(ProcessHandle.current().pid(), parentOf(keeper), "and is not this JVM's child");
        job.stdin().write("line\n".getBytes(StandardCharsets.UTF_8));
        job.closeStdin();
        assertEquals("got line", Specs.readUntil(job.stdout(), "\n", Duration.ofSeconds(30)).strip());
        assertEquals(0, exitOf(job));
    }

    @Test
    void theEnvironmentIsTheProgramsAloneNothingAboveItRunsWithIt() throws Exception {
        // the keeper and each job's init run with no environment at all; the job's is applied at
        // the program's execve only (and its PATH is what finds the program)
        var env = new java.util.HashMap<>(Specs.ENV);
        env.put("PATH", "/gst-nowhere:/usr/bin:/bin");
        env.put("LD_PRELOAD", "/gst-nowhere/lib.so");
        Job job = fixture.get().start(Specs.builder("sh", "-c", "echo \"$LD_PRELOAD\"; read x; exit 0").env(env).build());
        assertEquals("/gst-nowhere/lib.so", Specs.readUntil(job.stdout(), "\n", Duration.ofSeconds(30)).strip());
        long init = ((LocalJob) job).rootPid();
        assertEquals("", Files.readString(Path.of("/proc", Long.toString(init), "environ")), "the init's environment");
        assertEquals("", Files.readString(Path.of("/proc", Long.toString(fixture.get().keeperPid()), "environ")),
                "the keeper's environment");
        job.closeStdin();
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
    void requestsLargerThanTheSocketBufferFromManyThreadsAtOnce() throws Exception {
        // 64 starts of 100 KB each (a single string may have 128 KiB at most: MAX_ARG_STRLEN) while
        // replies flow the other way: neither side may wait for the other
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
    void aDaemonThatGoesAwayLeavesItsJobsToTheKeeperAndTheNextOneAdoptsThem(@TempDir Path state) throws Exception {
        // what must survive the daemon: every job; the attached one gets SIGHUP (a dropped ssh
        // session), survives it here (trap), and goes on detached with its output in its log
        Supervisor first = new Supervisor(state);
        Job detached = first.start(Specs.builder("sh", "-c", "echo one; sleep 1; echo two; exec sleep 300").detached().build());
        Job attached = first.start(Specs.of("sh", "-c",
                "trap 'echo hung up' HUP; echo ready; while :; do echo tick; sleep 0.2; done"));
        Specs.readUntil(attached.stdout(), "ready", Duration.ofSeconds(30));
        long keeper = first.keeperPid();
        first.leave();
        Supervisor second = new Supervisor(state);
        try {
            assertEquals(keeper, second.keeperPid(), "the same keeper");
            Job d = second.find(detached.gpid()).orElseThrow();
            Job a = second.find(attached.gpid()).orElseThrow();
            assertTrue(d.detached() && a.detached(), "both are detached now");
            assertEquals(attached.spec().argv(), a.spec().argv(), "the record says what it runs");
            assertEquals(attached.pid(), a.pid());
            Specs.readUntil(a.logs().follow(LogStream.STDOUT, 0), "hung up\ntick\n", Duration.ofSeconds(30));
            Specs.readUntil(d.logs().follow(LogStream.STDOUT, 0), "one\ntwo\n", Duration.ofSeconds(30));
            a.signal(Signals.SIGTERM);
            assertEquals(143, exitOf(a), "signals reach a re-adopted job, and its end is reported");
            d.signal(Signals.SIGKILL);
            assertEquals(137, exitOf(d));
        } finally {
            second.close();
        }
        Specs.await("the keeper to stop with its last supervisor", Duration.ofSeconds(30),
                () -> !Files.exists(Path.of("/proc", Long.toString(keeper))));
    }

    @Test
    void aJobThatEndsWhileNoDaemonIsConnectedIsReportedToTheNext(@TempDir Path state) throws Exception {
        Supervisor first = new Supervisor(state);
        Job job = first.start(Specs.builder("sh", "-c", "sleep 1; exit 5").detached().build());
        first.leave();
        Thread.sleep(2000);
        Supervisor second = new Supervisor(state);
        try {
            assertEquals(5, exitOf(second.find(job.gpid()).orElseThrow()));
        } finally {
            second.close();
        }
    }

    @Test
    void whenTheKeeperIsKilledItsJobsDieAndTheNextStartGetsANewKeeper() throws Exception {
        Job job = fixture.get().start(Specs.of("sleep", "347"));
        long program = job.pid();
        assertTrue(program > 0);
        long keeper = fixture.get().keeperPid();
        assertTrue(Posix.kill(keeper, Signals.SIGKILL));
        assertEquals(137, exitOf(job), "the job ends with its keeper (parent-death signal)");
        Specs.await("the program gone", Duration.ofSeconds(30), () -> !Files.exists(Path.of("/proc", Long.toString(program))));
        Job next = fixture.get().start(Specs.of("sh", "-c", "exit 4"));
        assertEquals(4, exitOf(next));
        long again = fixture.get().keeperPid();
        assertTrue(again > 0);
        assertNotEquals(keeper, again);
        assertFalse(Files.exists(Path.of("/proc", Long.toString(program))), "no orphan of the dead keeper's job");
    }
}

package dev.gestalt.process.supervisor;

import dev.gestalt.os.Signals;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;

import static dev.gestalt.process.supervisor.Specs.exitOf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The chain a non-root daemon uses (no PID namespace, no uid switch), run here as whoever runs
 * the tests: same exit statuses, signals and terminals.
 */
class UnprivilegedChainTest {
    static Supervisor supervisor;

    @BeforeAll
    static void start(@TempDir Path state) {
        supervisor = new Supervisor(state, false);
    }

    @AfterAll
    static void stop() {
        supervisor.close();
    }

    @Test
    void exitStatuses() throws Exception {
        assertEquals(7, exitOf(supervisor.start(Specs.of("sh", "-c", "exit 7"))));
        assertEquals(143, exitOf(supervisor.start(Specs.of("sh", "-c", "kill -TERM $$"))));
        assertEquals(139, exitOf(supervisor.start(Specs.of("sh", "-c", "kill -SEGV $$"))));
    }

    @Test
    void programIsTheChildOfTiniWithItsOwnPid() throws Exception {
        Job job = supervisor.start(Specs.of("sh", "-c", "echo $$; exec sleep 100"));
        String pid = Specs.readUntil(job.stdout(), "\n", Duration.ofSeconds(30)).strip();
        assertEquals(Long.toString(job.pid()), pid);
        assertNotEquals("2", pid);
        job.signal(Signals.SIGTERM);
        assertEquals(143, exitOf(job));
    }

    @Test
    void sigkillReachesProcessesThatLeftTheGroup() throws Exception {
        Job job = supervisor.start(Specs.of("sh", "-c", "setsid sleep 7306 & echo $!; wait"));
        long escaped = Long.parseLong(Specs.readUntil(job.stdout(), "\n", Duration.ofSeconds(30)).strip());
        Specs.await("setsid to run", Duration.ofSeconds(30),
                () -> ProcTable.stat(escaped).map(s -> s.pgrp() == escaped).orElse(false));
        job.signal(Signals.SIGKILL);
        assertEquals(137, exitOf(job));
        Specs.await("the escaped process to die", Duration.ofSeconds(30), () -> OrphanProbe.gone(escaped));
    }

    @Test
    void ttyJobsWork() throws Exception {
        // `exec sleep`, and ^C only once sleep runs: `sh -c` (dash) catches SIGINT, and a ^C that
        // lands while stty is still exiting kills stty but not the shell, which goes on to sleep.
        Job job = supervisor.start(Specs.builder("sh", "-c", "tty; stty size; exec sleep 100").tty(90, 30).build());
        String out = Specs.readUntil(job.stdout(), "30 90", Duration.ofSeconds(30));
        assertTrue(out.startsWith("/dev/pts/"), out);
        Specs.await("sleep to run", Duration.ofSeconds(30), () -> job.stats().command().startsWith("sleep"));
        job.stdin().write(3);
        assertEquals(130, exitOf(job));
    }

    @Test
    void idsOfTheSpecAreIgnored() throws Exception {
        Job job = supervisor.start(Specs.builder("id", "-u").as(12345, 12345, new int[] {12345}, "nobody").build());
        assertEquals(dev.gestalt.os.Posix.geteuid() + "\n", Specs.text(job.stdout()));
    }

    @Test
    void aKilledKeeperTakesTheProgramWithItWithoutANamespaceToo(@TempDir Path state) throws Exception {
        Supervisor own = new Supervisor(state, false);
        Job job = own.start(Specs.of("sleep", "7307"));
        long program = job.pid();
        assertTrue(program > 0);
        dev.gestalt.os.Posix.kill(own.keeperPid(), Signals.SIGKILL);
        Specs.await("the program to die with its keeper", Duration.ofSeconds(30), () -> OrphanProbe.gone(program));
        own.leave();
    }
}

package dev.gestalt.process.supervisor;

import dev.gestalt.os.Signals;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.List;

import static dev.gestalt.process.supervisor.Specs.exitOf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Load comes from the supervised trees only; process snapshots come from /proc. */
class LoadTest {
    @RegisterExtension
    static final SupervisorFixture fixture = new SupervisorFixture();

    @Test
    void loadRisesWithABusyJobAndFallsAfterIt() throws Exception {
        assertTrue(fixture.get().load().load() < 0.3, "idle: " + fixture.get().load());
        Job busy = fixture.get().start(Specs.of("sh", "-c", "while :; do :; done"));
        // the machine may be shared (steal time): ask for a clear rise, not for a full CPU
        Specs.await("load to rise", Duration.ofSeconds(60), () -> fixture.get().load().load() > 0.25);
        assertTrue(fixture.get().load().processes() >= 1);
        ProcSnapshot stats = busy.stats();
        assertEquals(busy.pid(), stats.pid());
        assertTrue(stats.cpuMillis() > 0, stats.toString());
        assertTrue(stats.command().startsWith("sh -c while"), stats.command());
        busy.signal(Signals.SIGKILL);
        assertEquals(137, exitOf(busy));
        Specs.await("load to fall", Duration.ofSeconds(60), () -> fixture.get().load().load() < 0.1);
        assertEquals(0, fixture.get().load().processes());
        assertEquals('X', busy.stats().state());
    }

    @Test
    void allOsProcessesListsThisJvm() {
        List<ProcSnapshot> all = fixture.get().allOsProcesses();
        long me = ProcessHandle.current().pid();
        ProcSnapshot self = all.stream().filter(p -> p.pid() == me).findFirst().orElseThrow();
        assertTrue(self.command().contains("java"), self.command());
        assertTrue(self.rssBytes() > 1 << 20, self.toString());
        assertTrue(self.cpuMillis() > 0, self.toString());
        assertTrue(self.startTime().isBefore(java.time.Instant.now()));
        assertTrue(self.startTime().isAfter(java.time.Instant.now().minus(Duration.ofHours(1))));
        assertEquals(System.getProperty("user.name"), self.user());
        assertTrue(all.stream().anyMatch(p -> p.pid() == 1));
        assertTrue(all.stream().anyMatch(p -> p.command().startsWith("[")), "kernel threads in brackets");
    }
}

package dev.gestalt.process.supervisor;

import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Jobs never outlive their supervisor, not even when its JVM is killed with SIGKILL. */
class NoOrphansTest {

    @Test
    void killingTheSupervisingJvmKillsEveryJob() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process jvm = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-XX:-UsePerfData",
                "-cp", System.getProperty("java.class.path"), OrphanProbe.class.getName())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        long[] pids;
        try (BufferedReader out = new BufferedReader(new InputStreamReader(jvm.getInputStream(), StandardCharsets.UTF_8))) {
            String line = out.readLine();
            assertTrue(line != null && line.startsWith("PIDS "), "probe said: " + line);
            pids = Arrays.stream(line.substring(5).split(" ")).mapToLong(Long::parseLong).toArray();
        } finally {
            jvm.destroyForcibly(); // SIGKILL: no shutdown hook, no close()
        }
        assertTrue(jvm.waitFor(30, TimeUnit.SECONDS));
        assertEquals(137, jvm.exitValue());
        // 4 jobs, each at least wrappers + program; the second has two more sleeps
        assertTrue(pids.length >= 4 * 3 + 2, "pids: " + Arrays.toString(pids));
        Specs.await("every job process to die", Duration.ofSeconds(30),
                () -> Arrays.stream(pids).allMatch(OrphanProbe::gone));
        List<ProcSnapshot> left = ProcTable.read().tree(1).stream().map(ProcTable::snapshot)
                .filter(p -> p.command().matches("sleep 730[1-5]")).toList();
        assertEquals(List.of(), left);
    }
}

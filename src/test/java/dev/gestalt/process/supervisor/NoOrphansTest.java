package dev.gestalt.process.supervisor;

import dev.gestalt.os.Posix;
import dev.gestalt.os.Signals;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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

/**
 * A daemon killed with SIGKILL leaves its jobs running under the keeper (a restarted daemon
 * re-adopts them: KeeperTest), its attached ones hung up as a dropped ssh session would; a
 * keeper killed with SIGKILL leaves nothing behind.
 */
class NoOrphansTest {

    @Test
    void jobsOutliveTheDaemonsJvmAndDieWithTheirKeeper(@TempDir Path state) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process jvm = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-XX:-UsePerfData",
                "-cp", System.getProperty("java.class.path"), OrphanProbe.class.getName(), state.toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        long[] pids;
        long keeper;
        long hangsUp;
        try (BufferedReader out = new BufferedReader(new InputStreamReader(jvm.getInputStream(), StandardCharsets.UTF_8))) {
            String line = out.readLine();
            assertTrue(line != null && line.startsWith("PIDS "), "probe said: " + line);
            long[] all = Arrays.stream(line.substring(5).split(" ")).mapToLong(Long::parseLong).toArray();
            keeper = all[0];
            hangsUp = all[1];
            pids = Arrays.copyOfRange(all, 2, all.length);
        } finally {
            jvm.destroyForcibly(); // SIGKILL: no shutdown hook, no close()
        }
        try {
            assertTrue(jvm.waitFor(30, TimeUnit.SECONDS));
            assertEquals(137, jvm.exitValue());
            // 4 jobs, each at least init + program; the second has two more sleeps
            assertTrue(pids.length >= 4 * 2 + 2, "pids: " + Arrays.toString(pids));
            Specs.await("the attached job that does not survive SIGHUP to end", Duration.ofSeconds(30),
                    () -> OrphanProbe.gone(hangsUp));
            assertTrue(Arrays.stream(pids).noneMatch(OrphanProbe::gone), "every other job runs on without its daemon");
        } finally {
            Posix.kill(keeper, Signals.SIGKILL);
        }
        Specs.await("every job process to die with the keeper", Duration.ofSeconds(30),
                () -> Arrays.stream(pids).allMatch(OrphanProbe::gone));
        List<ProcSnapshot> left = ProcTable.read().tree(1).stream().map(ProcTable::snapshot)
                .filter(p -> p.command().matches("sleep 730[1-6]")).toList();
        assertEquals(List.of(), left);
    }
}

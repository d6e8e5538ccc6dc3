package dev.gestalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gestalt.testkit.Cli;
import dev.gestalt.testkit.Eventually;
import dev.gestalt.testkit.LocalClusterFixture;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A client that stops reading slows the remote process instead of growing a
 * buffer anywhere on the way (execution node, home node, CLI): the process
 * stalls after a bounded number of bytes, and resumes when the client reads.
 */
@Tag("e2e")
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class BackpressureIT {

    @RegisterExtension
    static final LocalClusterFixture cluster = LocalClusterFixture.shared(3);

    private static final int CHUNKS = 4096;          // of 64 KiB: 256 MiB in all
    private static final long BOUND = 64L << 20;      // what may be in flight between the process and a stalled reader

    @TempDir
    Path tmp;

    private static long progress(Path f) {
        try {
            String s = Files.readString(f).trim();
            return s.isEmpty() ? 0 : Long.parseLong(s);
        } catch (Exception e) {
            return 0;
        }
    }

    @Test
    void aStalledReaderStallsTheProcessAndReadingResumesIt() throws Exception {
        Path counter = tmp.resolve("progress");
        String script = "n=0; while [ $n -lt " + CHUNKS + " ]; do head -c 65536 /dev/zero; n=$((n+1)); echo $n > " + counter + "; done";
        var pb = new ProcessBuilder(Cli.repoLauncher().toString(), "run", "-n", "node2", "--", "sh", "-c", script)
            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
            .redirectError(ProcessBuilder.Redirect.DISCARD);
        pb.environment().putAll(cluster.cli(1).env());
        Process cli = pb.start();
        try {
            Eventually.holds(Duration.ofSeconds(60), "the process starts writing", () -> progress(counter) > 0);
            // nobody reads the CLI's stdout: the process must come to a stop
            long[] last = {-1};
            Eventually.holds(Duration.ofSeconds(60), "the process stalls", () -> {
                long now = progress(counter);
                boolean still = now == last[0];
                last[0] = now;
                if (!still) {
                    sleep(1500);
                }
                return still;
            });
            long stalledAt = progress(counter) * 65536;
            System.out.printf("BackpressureIT: stalled after %.1f MiB%n", stalledAt / 1048576.0);
            assertTrue(stalledAt < BOUND, "stalled after " + stalledAt + " bytes, bound " + BOUND);
            assertTrue(progress(counter) < CHUNKS, "the process did not get to the end without a reader");

            long total = 0;
            byte[] buf = new byte[1 << 16];
            try (InputStream in = cli.getInputStream()) {
                for (int n; (n = in.read(buf)) > 0; ) {
                    total += n;
                }
            }
            assertTrue(cli.waitFor(60, TimeUnit.SECONDS), "the CLI ends once its output is read");
            assertEquals(0, cli.exitValue());
            assertEquals((long) CHUNKS * 65536, total, "every byte arrives once the reader reads");
        } finally {
            cli.descendants().forEach(ProcessHandle::destroyForcibly);
            cli.destroyForcibly();
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

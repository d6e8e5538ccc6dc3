package dev.gestalt.process.supervisor;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

import static dev.gestalt.process.supervisor.Specs.exitOf;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** stdin/stdout/stderr through the wrappers: exact bytes, bounded buffers, backpressure. */
class StreamsTest {
    @RegisterExtension
    static final SupervisorFixture fixture = new SupervisorFixture();

    @Test
    void fiftyMegabytesThroughCatAreByteExact() throws Exception {
        Job job = fixture.get().start(Specs.of("cat"));
        long total = 50L << 20;
        MessageDigest sent = MessageDigest.getInstance("SHA-256");
        CompletableFuture<byte[]> received = CompletableFuture.supplyAsync(() -> {
            try (InputStream in = job.stdout()) {
                MessageDigest d = MessageDigest.getInstance("SHA-256");
                byte[] buf = new byte[65536];
                long count = 0;
                int n;
                while ((n = in.read(buf)) > 0) {
                    d.update(buf, 0, n);
                    count += n;
                }
                assertEquals(total, count);
                return d.digest();
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        Random random = new Random(42);
        byte[] chunk = new byte[100_000];
        try (OutputStream out = job.stdin()) {
            for (long written = 0; written < total; ) {
                random.nextBytes(chunk);
                int n = (int) Math.min(chunk.length, total - written);
                out.write(chunk, 0, n);
                sent.update(chunk, 0, n);
                written += n;
            }
        }
        assertArrayEquals(sent.digest(), received.get());
        assertEquals(0, exitOf(job));
    }

    @Test
    void aJobThatDoesNotReadBlocksTheWriter() throws Exception {
        Job job = fixture.get().start(Specs.of("sleep", "1000"));
        AtomicLong written = new AtomicLong();
        Thread writer = Thread.ofPlatform().start(() -> {
            byte[] chunk = new byte[65536];
            try {
                for (int i = 0; i < 4 * 16; i++) { // 4 MB
                    job.stdin().write(chunk);
                    written.addAndGet(chunk.length);
                }
            } catch (IOException e) {
                // the job was killed: its pipe broke
            }
        });
        Thread.sleep(2000);
        assertTrue(writer.isAlive(), "the writer must be blocked, not done");
        assertTrue(written.get() < (1 << 20), "at most a pipe's worth is accepted, was " + written.get());
        job.signal(dev.gestalt.os.Signals.SIGKILL);
        assertEquals(137, exitOf(job));
        writer.join(10_000);
        assertTrue(!writer.isAlive(), "the writer is released when the job dies");
    }

    @Test
    void stderrIsSeparate() throws Exception {
        Job job = fixture.get().start(Specs.of("sh", "-c", "echo out; echo err >&2"));
        assertEquals("out\n", Specs.text(job.stdout()));
        assertEquals("err\n", Specs.text(job.stderr()));
        assertEquals(0, exitOf(job));
    }
}

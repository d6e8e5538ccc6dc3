package dev.gestalt.process.supervisor;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;

import static dev.gestalt.process.supervisor.Specs.exitOf;
import static dev.gestalt.process.supervisor.Specs.readUntil;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Jobs on a pseudo-terminal: tty name, size, SIGWINCH, Ctrl-C and Ctrl-\\, signal state, job control. */
class TtyTest {
    static final Duration WAIT = Duration.ofSeconds(30);
    @RegisterExtension
    static final SupervisorFixture fixture = new SupervisorFixture();

    @Test
    void ttyAndSize() throws Exception {
        Job job = fixture.get().start(Specs.builder("sh", "-c", "tty; stty size").tty(100, 37).build());
        String out = Specs.text(job.stdout()).replace("\r", "");
        assertTrue(out.matches("/dev/pts/\\d+\n37 100\n"), out);
        assertEquals(0, exitOf(job));
        assertEquals("", Specs.text(job.stderr()));
    }

    @Test
    void resizeDeliversSigwinch() throws Exception {
        Job job = fixture.get().start(Specs.builder("sh", "-c",
                "trap 'echo winch; stty size' WINCH; echo ready; while :; do sleep 0.1; done").tty(80, 24).build());
        readUntil(job.stdout(), "ready", WAIT);
        job.resize(120, 50);
        readUntil(job.stdout(), "50 120", WAIT);
        job.signal(dev.gestalt.os.Signals.SIGKILL);
        assertEquals(137, exitOf(job));
    }

    @Test
    void ctrlCInterruptsTheForegroundProgram() throws Exception {
        Job job = fixture.get().start(Specs.builder("sleep", "100").tty(80, 24).build());
        Specs.await("sleep to run", WAIT, () -> job.stats().command().startsWith("sleep"));
        job.stdin().write(3);
        assertEquals(130, exitOf(job));
    }

    @Test
    void ctrlBackslashQuitsTheForegroundProgram() throws Exception {
        // The daemon's JVM threads block SIGQUIT; a job must not inherit that (Ctrl-\ did nothing).
        Job job = fixture.get().start(Specs.builder("sleep", "100").tty(80, 24).build());
        Specs.await("sleep to run", WAIT, () -> job.stats().command().startsWith("sleep"));
        job.stdin().write(0x1c);
        assertEquals(131, exitOf(job));
    }

    @Test
    void jobsStartWithNoSignalBlockedOrIgnored() throws Exception {
        for (boolean tty : new boolean[] {true, false}) {
            var spec = Specs.builder("grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status");
            Job job = fixture.get().start(tty ? spec.tty(80, 24).build() : spec.build());
            String out = Specs.text(job.stdout()).replace("\r", "");
            assertEquals("SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n", out, tty ? "tty job" : "pipe job");
            assertEquals(0, exitOf(job));
        }
    }

    @Test
    void interactiveBashHasJobControl() throws Exception {
        Map<String, String> env = new TreeMap<>(Specs.ENV);
        env.put("TERM", "dumb");
        env.put("PS1", "prompt$ ");
        env.put("HOME", "/tmp");
        Job job = fixture.get().start(Specs.builder("bash", "--norc", "--noprofile", "-i").env(env).tty(80, 24).build());
        job.stdin().write("echo $((6*7)); sleep 30 & jobs; kill %1; exit 5\n".getBytes(StandardCharsets.UTF_8));
        String out = new String(job.stdout().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(5, exitOf(job));
        assertTrue(out.contains("42"), out);
        assertTrue(out.contains("[1]+"), "jobs lists the background job: " + out);
        assertFalse(out.contains("no job control"), out);
        assertFalse(out.contains("cannot set terminal process group"), out);
    }

    @Test
    void environmentIsExactOnATtyToo() throws Exception {
        Job job = fixture.get().start(Specs.builder("env").tty(80, 24).build());
        String out = Specs.text(job.stdout()).replace("\r", "");
        Map<String, String> seen = new TreeMap<>();
        for (String line : out.split("\n")) {
            int eq = line.indexOf('=');
            seen.put(line.substring(0, eq), line.substring(eq + 1));
        }
        assertEquals(new TreeMap<>(Specs.ENV), seen);
    }
}

package dev.gestalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gestalt.testkit.Cli;
import dev.gestalt.testkit.Eventually;
import dev.gestalt.testkit.LocalClusterFixture;
import dev.gestalt.testkit.Procs;
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
 * The native client of {@code gestalt run} (src/main/c/gestalt-run.c), which the launcher starts
 * for sessions without a terminal, against the JVM client it stands in for. Every other e2e test
 * that runs {@code gestalt run} without a terminal goes through it too; these check what is its
 * own: the same world for the program as the JVM client gives, the hand-over to the JVM for what
 * it does not do, and the cases a C client meets that the JVM hid.
 */
@Tag("e2e")
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class NativeClientIT {

    @RegisterExtension
    static final LocalClusterFixture cluster = LocalClusterFixture.shared(3);

    @TempDir
    Path tmp;

    private Cli cli() {
        return cluster.cli(1).withCwd(tmp);
    }

    @Test
    void theLauncherHasANativeClient() {
        Path client = Cli.repoLauncher().resolveSibling("target").resolve("gestalt-run");
        assertTrue(Files.isExecutable(client), client + " is built with the jar");
    }

    @Test
    void bothClientsGiveTheProgramTheSameWorld() {
        // argv, environment, working directory, umask, every limit, identity, and which fds are terminals
        String[] run = {"run", "-n", "node2", "--", "sh", "-c",
            "printf '[%s]' \"$@\"; echo; pwd; umask; ulimit -a; ulimit -Ha; id; env | grep -v '^GESTALT_GPID=' | LC_ALL=C sort;"
                + " [ -t 0 ] || echo stdin-not-a-tty; cat; echo err >&2; exit 9",
            "sh", "a b", "", "ü"};
        Cli c = cli().withPrefix("sh", "-c", "umask 027; ulimit -n 777; exec \"$@\"", "sh").withEnv("E2E_PARITY", "x=y z");
        byte[] input = "from stdin\n".getBytes();
        var nat = c.run(input, run);
        var jvm = c.withEnv("GESTALT_JVM_CLIENT", "1").run(input, run);
        assertEquals(9, nat.exitCode(), nat::describe);
        assertEquals(jvm.exitCode(), nat.exitCode());
        assertEquals(jvm.out(), nat.out(), "the program sees the same world from either client");
        assertEquals(jvm.stderr(), nat.stderr());
        assertTrue(nat.out().contains("[a b][][ü]") && nat.out().contains("\n0027\n")
            && nat.out().contains("E2E_PARITY=x=y z") && nat.out().contains("from stdin"), nat::describe);
        assertTrue(!nat.out().contains("GESTALT_JVM_CLIENT"), "the hand-over marker does not reach the program");
    }

    @Test
    void sigquitReachesTheRemoteProcess() {
        // the JVM client cannot catch SIGQUIT (the JVM keeps it for thread dumps); the native one forwards it
        var run = cli().start("run", "-n", "node3", "--", "sh", "-c",
            "trap 'echo got QUIT; exit 6' QUIT; echo ready; sleep 100 & wait");
        Eventually.holds(Duration.ofSeconds(60), "the remote shell set its trap", () -> run.stdoutSoFar().contains("ready") || !run.isAlive());
        run.signal("QUIT");
        var r = run.await(Duration.ofSeconds(60));
        assertEquals(6, r.exitCode(), r::describe);
        assertTrue(r.out().contains("got QUIT"), r::describe);
    }

    @Test
    void aClosedStdinIsAnEmptyOne() {
        var r = cli().withPrefix("sh", "-c", "exec \"$@\" <&-", "sh").run("run", "-n", "node2", "--", "sh", "-c", "cat; echo end");
        assertEquals(0, r.exitCode(), r::describe);
        assertEquals("end\n", r.out());
    }

    @Test
    void aReaderThatGoesAwayEndsTheClientBySigpipeAndTheRemoteProgram() {
        // as `yes | head -n 1` locally: the writer dies of SIGPIPE (141), nothing is left running
        var r = cli().withPrefix("bash", "-c", "\"$@\" | head -n 1; echo \"status ${PIPESTATUS[0]}\"", "bash")
            .run("run", "-n", "node2", "--", "yes", "gestalt-epipe-4711");
        assertEquals(0, r.exitCode(), r::describe);
        assertEquals("gestalt-epipe-4711\nstatus 141\n", r.out(), r::describe);
        Eventually.holds(Duration.ofSeconds(30), "the remote yes is terminated",
            () -> Procs.pgrep("^yes gestalt-epipe-4711$").isEmpty());
    }

    @Test
    void whatItDoesNotDoGoesToTheJvmClient() {
        var help = cli().run("run", "--help");
        assertEquals(0, help.exitCode(), help::describe);
        assertTrue(help.out().startsWith("Usage: gestalt run"), help::describe);
        var bad = cli().run("run", "--cpus", "lots", "--", "true");
        assertEquals(2, bad.exitCode(), bad::describe);
        assertTrue(bad.stderr().contains("Usage: gestalt run"), bad::describe);
        var verbose = cli().run("-v", "run", "-n", "node2", "--", "sh", "-c", "exit 4");
        assertEquals(4, verbose.exitCode(), verbose::describe);
    }

    @Test
    void aKilledKeeperEndsItsJobsAndTheNodeStartsANewOne() throws Exception {
        // what must survive: the node, the client's session (it ends with the job's status, no
        // hang), and every later start on that node; what must not: the job (no orphan)
        var run = cli().start("run", "-n", "node2", "--", "sh", "-c", "echo ready; exec sleep 348");
        Eventually.holds(Duration.ofSeconds(60), "the job runs", () -> run.stdoutSoFar().contains("ready") || !run.isAlive());
        long keeper = Eventually.value(Duration.ofSeconds(10), "node2's keeper", () ->
            Procs.withCommandLine("--keeper " + cluster.dir().resolve("node2")).stream().findFirst().orElse(null));
        Procs.signal(keeper, "KILL");
        var r = run.await(Duration.ofSeconds(60));
        assertEquals(137, r.exitCode(), r::describe);
        Eventually.holds(Duration.ofSeconds(30), "no sleep 348 left", () -> Procs.pgrep("^sleep 348$").isEmpty());
        var next = cli().run("run", "-n", "node2", "--", "sh", "-c", "exit 6");
        assertEquals(6, next.exitCode(), next::describe);
    }

    @Test
    void startedWithTheHandOverMarkerItRefusesInsteadOfLooping() {
        Path client = Cli.repoLauncher().resolveSibling("target").resolve("gestalt-run");
        var r = Procs.exec(30, "env", "GESTALT_JVM_CLIENT=1", client.toString(), "run", "--", "true");
        assertEquals(255, r.exitCode(), r.stderr());
        assertEquals(1, r.stderr().strip().lines().count(), r.stderr());
        // set but empty is unset, for the launcher and the client alike
        var empty = cli().withEnv("GESTALT_JVM_CLIENT", "").run("run", "-n", "node2", "--", "sh", "-c", "exit 5");
        assertEquals(5, empty.exitCode(), empty::describe);
    }
}

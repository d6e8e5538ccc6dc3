package dev.gestalt.process.supervisor;

import dev.gestalt.os.Signals;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;

import static dev.gestalt.process.supervisor.Specs.exitOf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Exit statuses as a shell reports them, and launch failures with bash's codes and messages. */
class ExitStatusTest {
    @RegisterExtension
    static final SupervisorFixture fixture = new SupervisorFixture();

    @Test
    void exitCodeIsPassedThrough() throws Exception {
        assertEquals(7, exitOf(fixture.get().start(Specs.of("sh", "-c", "exit 7"))));
        assertEquals(0, exitOf(fixture.get().start(Specs.of("true"))));
    }

    @Test
    void deathBySignalIs128PlusN() throws Exception {
        assertEquals(143, exitOf(fixture.get().start(Specs.of("sh", "-c", "kill -TERM $$"))));
        assertEquals(139, exitOf(fixture.get().start(Specs.of("sh", "-c", "kill -SEGV $$"))));
    }

    /**
     * The C side (the keeper's shell_status), the Java side ({@link ExitStatus}) and bash say the
     * same of the same ending, for each way a program can end.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"HUP", "INT", "QUIT", "KILL", "SEGV", "TERM", "USR1"})
    void theKeeperJavaAndBashAgreeOnASignalsStatus(String name) throws Exception {
        int signal = Signals.parse(name).orElseThrow();
        int keeper = exitOf(fixture.get().start(Specs.of("sh", "-c", "kill -" + name + " $$")));
        // every signal at its default first: a runner started under nohup (or a CI that ignores
        // SIGHUP) hands its ignored signals down, and an ignored HUP would not end sh at all
        Process bash = new ProcessBuilder("env", "--default-signal", "bash", "-c", "sh -c 'kill -" + name + " $$'; echo $?").start();
        int shell = Integer.parseInt(new String(bash.getInputStream().readAllBytes()).strip());
        assertEquals(shell, keeper, "keeper and bash");
        assertEquals(ExitStatus.killedBy(signal), keeper, "keeper and Java");
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(ints = {0, 1, 2, 126, 127, 128, 200, 255, 256, 300})
    void theKeeperAndBashAgreeOnAnExitsStatus(int code) throws Exception {
        int keeper = exitOf(fixture.get().start(Specs.of("sh", "-c", "exit " + code)));
        Process bash = new ProcessBuilder("bash", "-c", "sh -c 'exit " + code + "'; echo $?").start();
        assertEquals(Integer.parseInt(new String(bash.getInputStream().readAllBytes()).strip()), keeper);
    }

    @Test
    void sigkillOfTheGroupGives137() throws Exception {
        Job job = fixture.get().start(Specs.of("sleep", "100"));
        assertTrue(job.pid() > 0);
        job.signal(Signals.SIGKILL);
        assertEquals(137, exitOf(job));
    }

    @Test
    void sigtermIsForwardedThroughTini() throws Exception {
        Job job = fixture.get().start(Specs.of("sleep", "100"));
        job.signal(Signals.SIGTERM);
        assertEquals(143, exitOf(job));
    }

    @Test
    void sigkillWorksWhenTermIsIgnored() throws Exception {
        Job job = fixture.get().start(Specs.of("sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done"));
        Specs.readUntil(job.stdout(), "ready", Duration.ofSeconds(30));
        job.signal(Signals.SIGTERM);
        Thread.sleep(1000);
        assertTrue(!job.exit().isDone(), "the program ignores SIGTERM");
        job.signal(Signals.SIGKILL);
        assertEquals(137, exitOf(job));
    }

    @Test
    void programIsPid2OfItsNamespace() throws Exception {
        Job job = fixture.get().start(Specs.of("sh", "-c", "echo $$; read x; exit 3"));
        String out = Specs.readUntil(job.stdout(), "\n", Duration.ofSeconds(30));
        assertEquals("2", out.strip());
        String status = Files.readString(Path.of("/proc", Long.toString(job.pid()), "status"));
        assertTrue(status.contains("NSpid:\t" + job.pid() + "\t2\n"), status);
        job.closeStdin();
        assertEquals(3, exitOf(job));
    }

    @Test
    void unknownCommandIs127() {
        LaunchException e = assertThrows(LaunchException.class,
                () -> fixture.get().start(Specs.of("no-such-command-gst", "x")));
        assertEquals(127, e.exitCode());
        assertEquals("no-such-command-gst: command not found", e.getMessage());
        e = assertThrows(LaunchException.class, () -> fixture.get().start(Specs.of("/no/such/file")));
        assertEquals(127, e.exitCode());
        assertEquals("/no/such/file: No such file or directory", e.getMessage());
    }

    @Test
    void notExecutableIs126(@TempDir Path dir) throws Exception {
        Path script = Files.writeString(dir.resolve("script"), "#!/bin/sh\necho hi\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rw-r--r--"));
        LaunchException e = assertThrows(LaunchException.class,
                () -> fixture.get().start(Specs.builder("./script").cwd(dir).build()));
        assertEquals(126, e.exitCode());
        assertEquals("./script: Permission denied", e.getMessage());

        e = assertThrows(LaunchException.class, () -> fixture.get().start(Specs.of(dir.toString())));
        assertEquals(126, e.exitCode());
        assertEquals(dir + ": Is a directory", e.getMessage());

        e = assertThrows(LaunchException.class, () -> fixture.get().start(
                Specs.builder("script").env(java.util.Map.of("PATH", dir.toString())).build()));
        assertEquals(126, e.exitCode());
        assertEquals("script: Permission denied", e.getMessage());

        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        assertEquals(0, exitOf(fixture.get().start(Specs.builder("./script").cwd(dir).build())));
    }

    @Test
    void missingWorkingDirectoryIs1() {
        LaunchException e = assertThrows(LaunchException.class,
                () -> fixture.get().start(Specs.builder("true").cwd(Path.of("/no/such/dir")).build()));
        assertEquals(1, e.exitCode());
        assertEquals("cd: /no/such/dir: No such file or directory", e.getMessage());
    }
}

package dev.gestalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gestalt.testkit.Cli;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Usage errors, help, and no node at all: none of these needs a cluster, so
 * the CLI runs against an empty GESTALT_HOME (no node can be found).
 */
@Tag("e2e")
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class UsageIT {

    @TempDir
    static Path emptyHome;

    private static Cli cli() {
        return Cli.of(Cli.repoLauncher()).withEnv("GESTALT_HOME", emptyHome.toString());
    }

    @Test
    void unknownCommandExitsTwoWithUsage() {
        var r = cli().run("frobnicate");
        assertEquals(2, r.exitCode(), r::describe);
        assertEquals("", r.out());
        assertTrue(r.stderr().contains("unknown command 'frobnicate'") && r.stderr().contains("--help"), r::describe);
    }

    @Test
    void noArgumentsExitsTwoWithTheOverviewOnStderr() {
        var r = cli().run();
        assertEquals(2, r.exitCode(), r::describe);
        assertEquals("", r.out());
        assertTrue(r.stderr().contains("Usage: gestalt COMMAND"), r::describe);
    }

    @ParameterizedTest
    @ValueSource(strings = {"run", "ps", "kill", "wait", "logs", "attach", "top", "nodes", "forall", "cluster", "init", "node", "demo"})
    void unknownFlagExitsTwoWithUsage(String command) {
        var r = cli().run(command, "--no-such-flag", "x");
        assertEquals(2, r.exitCode(), r::describe);
        assertEquals("", r.out());
        assertTrue(r.stderr().contains("Usage: gestalt " + command), r::describe);
        assertTrue(r.stderr().contains("--no-such-flag"), "the error names the flag: " + r.stderr());
    }

    @ParameterizedTest
    @ValueSource(strings = {"run", "ps", "kill", "wait", "logs", "attach", "top", "nodes", "forall", "cluster", "init", "node", "demo", "make", "version"})
    void helpEverywhereExitsZero(String command) {
        var r = cli().run(command, "--help");
        assertEquals(0, r.exitCode(), r::describe);
        assertTrue(r.out().contains(command), r::describe);
        assertEquals("", r.stderr());
        var h = cli().run("help", command);
        assertEquals(0, h.exitCode(), h::describe);
        assertEquals(r.out(), h.out(), "'gestalt help CMD' prints the same as 'gestalt CMD --help'");
    }

    @Test
    void topLevelHelpNamesTheEnvironment() {
        var r = cli().run("--help");
        assertEquals(0, r.exitCode(), r::describe);
        assertTrue(r.out().contains("GESTALT_NODE") && r.out().contains("GESTALT_HOME"), r::describe);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({"run, 255", "forall, 255", "ps, 1", "nodes, 1", "wait, 255", "kill, 1"})
    void noNodeIsAClearOneLineError(String command, int code) {
        String[] args = switch (command) {
            case "run" -> new String[] {"run", "--", "true"};
            case "forall" -> new String[] {"forall", "--", "echo", ":::", "a"};
            case "wait", "kill" -> new String[] {command, "1-1"};
            default -> new String[] {command};
        };
        var r = cli().run(args);
        assertEquals(code, r.exitCode(), r::describe);
        assertEquals(1, r.stderr().lines().count(), "one line: " + r.stderr());
        assertTrue(r.stderr().contains("no Gestalt node found") && r.stderr().contains("cluster up"), r::describe);
    }

    @Test
    void unreachableSocketIsAClearOneLineError() {
        var r = cli().withEnv("GESTALT_NODE", emptyHome.resolve("nothing.sock").toString()).run("run", "--", "true");
        assertEquals(255, r.exitCode(), r::describe);
        assertEquals(1, r.stderr().lines().count(), "one line: " + r.stderr());
        assertTrue(r.stderr().contains("cannot reach a Gestalt node") && r.stderr().contains("nothing.sock"), r::describe);
    }

    @Test
    void verboseReallyPrintsTheStackTrace() {
        Cli c = cli().withEnv("GESTALT_NODE", emptyHome.resolve("nothing.sock").toString());
        var r = c.run("-v", "run", "--", "true");
        assertEquals(255, r.exitCode(), r::describe);
        assertTrue(r.stderr().startsWith("gestalt: cannot reach a Gestalt node"), r::describe);
        assertTrue(r.stderr().contains("\tat dev.gestalt."), "-v prints where it failed: " + r.describe());
        var quiet = c.run("run", "--", "true");
        assertEquals(1, quiet.stderr().lines().count(), "one line without -v: " + quiet.describe());
    }
}

package dev.gestalt.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gestalt.testkit.Cli;
import dev.gestalt.testkit.LocalClusterFixture;
import dev.gestalt.testkit.TinyJson;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code gestalt run} through the real CLI on a real 3-node cluster: the
 * remote program must behave as if it ran in the caller's shell.
 */
@Tag("e2e")
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class RunIT {

    @RegisterExtension
    static final LocalClusterFixture cluster = LocalClusterFixture.shared(3);

    @TempDir
    Path tmp;

    /** Home node1, execution on node2: every byte crosses the node-to-node stream. */
    private Cli cli() {
        return cluster.cli(1).withCwd(tmp);
    }

    private static byte[] allByteValues(int repeat) {
        byte[] b = new byte[256 * repeat];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) i;
        }
        return b;
    }

    @Test
    void stdoutIsByteExactAndSeparateFromStderr() {
        byte[] data = allByteValues(4);
        var r = cli().run(data, "run", "-n", "node2", "--", "sh", "-c", "cat; printf 'to-err\\n' >&2");
        assertEquals(0, r.exitCode(), r::describe);
        assertArrayEquals(data, r.stdout(), "stdout must be the 1024 bytes given on stdin, nothing else");
        assertEquals("to-err\n", r.stderr());
    }

    @Test
    void stderrIsByteExactAndSeparateFromStdout() {
        byte[] data = allByteValues(4);
        var r = cli().run(data, "run", "-n", "node2", "--", "sh", "-c", "cat >&2; printf 'to-out\\n'");
        assertEquals(0, r.exitCode(), r::describe);
        assertArrayEquals(data, r.stderrBytes(), "stderr must be the 1024 bytes given on stdin, nothing else");
        assertEquals("to-out\n", r.out());
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
        "exit 0          | 0",
        "exit 7          | 7",
        "kill -TERM $$   | 143",
        "kill -SEGV $$   | 139",
        "kill -KILL $$   | 137",
    })
    void exitCodeIsTheShellsExitCode(String script, int expected) {
        var r = cli().run("run", "-n", "node2", "--", "sh", "-c", script);
        assertEquals(expected, r.exitCode(), r::describe);
    }

    @Test
    void missingProgramExits127WithAMessage() {
        var r = cli().run("run", "--", "gestalt-e2e-no-such-program");
        assertEquals(127, r.exitCode(), r::describe);
        assertTrue(r.stderr().contains("gestalt-e2e-no-such-program") && r.stderr().contains("not found"), r::describe);
        assertEquals(1, r.stderr().strip().lines().count(), "one line: " + r.stderr());
    }

    @Test
    void nonExecutableFileExits126() throws IOException {
        Path f = tmp.resolve("not-executable.sh");
        Files.writeString(f, "#!/bin/sh\necho should not run\n");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r--r--"));
        var r = cli().run("run", "--", f.toString());
        assertEquals(126, r.exitCode(), r::describe);
        assertEquals("", r.out());
        assertTrue(r.stderr().toLowerCase().contains("permission denied"), r::describe);
    }

    @Test
    void argvIsPassedExactly() {
        List<String> args = List.of("a b", "\"double\"", "it's", "ünï 日本 ✓", "", "$HOME", "*", "-n", "--", "tab\there");
        List<String> cmd = new ArrayList<>(List.of("run", "--", "printf", "[%s]\\n"));
        cmd.addAll(args);
        var r = cli().run(cmd.toArray(String[]::new));
        assertEquals(0, r.exitCode(), r::describe);
        StringBuilder expected = new StringBuilder();
        args.forEach(a -> expected.append('[').append(a).append("]\n"));
        assertEquals(expected.toString(), r.out());
    }

    @Test
    void environmentIsPassed() {
        var r = cli().withEnv("E2E_VALUE", "x y=z ü 'q'").withEnv("E2E_OTHER", "2")
            .run("run", "-n", "node3", "--", "sh", "-c", "printf '%s|%s' \"$E2E_VALUE\" \"$E2E_OTHER\"");
        assertEquals(0, r.exitCode(), r::describe);
        assertEquals("x y=z ü 'q'|2", r.out());
    }

    @Test
    void workingDirectoryIsTheCallers() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("some dir"));
        var r = cli().withCwd(dir).run("run", "-n", "node2", "--", "pwd");
        assertEquals(0, r.exitCode(), r::describe);
        assertEquals(dir.toRealPath() + "\n", r.out());
    }

    @Test
    void umaskIsTheCallers() throws IOException {
        var r = cli().withPrefix("sh", "-c", "umask 077; exec \"$@\"", "sh")
            .run("run", "-n", "node2", "--", "sh", "-c", "umask; echo x > created");
        assertEquals(0, r.exitCode(), r::describe);
        assertEquals("0077\n", r.out());
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(tmp.resolve("created"))));
    }

    @Test
    void openFilesLimitIsTheCallers() {
        var r = cli().withPrefix("sh", "-c", "ulimit -n 1234; exec \"$@\"", "sh")
            .run("run", "-n", "node3", "--", "sh", "-c", "ulimit -Sn; ulimit -Hn");
        assertEquals(0, r.exitCode(), r::describe);
        assertEquals("1234\n1234\n", r.out());
    }

    @Test
    void dashNPinsTheNode() {
        String gpid = cli().run("run", "-d", "-n", "node2", "--", "sleep", "311").out().strip();
        try {
            var ps = cli().run("ps", "--json");
            assertEquals(0, ps.exitCode(), ps::describe);
            var row = TinyJson.rows(ps.out()).stream().filter(m -> gpid.equals(m.get("gpid"))).findFirst()
                .orElseThrow(() -> new AssertionError(gpid + " not in " + ps.out()));
            assertEquals("node2", row.get("node"));
        } finally {
            cli().run("kill", "-9", gpid);
        }
    }

    @Test
    void stdinEofEndsCat() {
        var empty = cli().run(new byte[0], "run", "-n", "node2", "--", "cat");
        assertEquals(0, empty.exitCode(), empty::describe);
        assertEquals(0, empty.stdout().length);
        var some = cli().run("abc\n".getBytes(StandardCharsets.UTF_8), "run", "-n", "node3", "--", "wc", "-c");
        assertEquals(0, some.exitCode(), some::describe);
        assertEquals("4", some.out().strip());
    }

    @Test
    @Timeout(value = 6, unit = TimeUnit.MINUTES)
    void sixtyFourMegabytesThroughStdinAndStdoutAreByteExact() throws Exception {
        Path in = tmp.resolve("in.bin");
        Path out = tmp.resolve("out.bin");
        byte[] chunk = new byte[1 << 20];
        Random random = new Random(42);
        try (var o = Files.newOutputStream(in)) {
            for (int i = 0; i < 64; i++) {
                random.nextBytes(chunk);
                o.write(chunk);
            }
        }
        var r = cli().call("run", "-n", "node2", "--", "cat").stdin(in).stdoutTo(out)
            .timeout(Duration.ofMinutes(5)).run();
        assertEquals(0, r.exitCode(), r::describe);
        assertEquals(Files.size(in), Files.size(out));
        assertEquals(sha256(in), sha256(out));
    }

    @Test
    void explainPrintsTheTable() {
        var r = cli().run("run", "--explain", "--", "true");
        assertEquals(0, r.exitCode(), r::describe);
        String e = r.stderr();
        assertTrue(e.contains("placed on node"), e);
        assertTrue(e.contains("NODE") && e.contains("SCORE"), e);
        for (int i = 1; i <= 3; i++) {
            assertTrue(e.contains("node" + i), "node" + i + " in the table:\n" + e);
        }
    }

    @Test
    void aBurstIsSpreadOverAllNodes() {
        cluster.awaitIdle(0.2);
        List<String> gpids = new ArrayList<>();
        try {
            for (int i = 0; i < 6; i++) {
                var r = cli().run("run", "-d", "--", "sleep", "312");
                assertEquals(0, r.exitCode(), r::describe);
                gpids.add(r.out().strip());
            }
            var ps = cli().run("ps", "--json");
            Set<Object> nodes = new HashSet<>();
            TinyJson.rows(ps.out()).stream().filter(m -> gpids.contains(m.get("gpid"))).forEach(m -> nodes.add(m.get("node")));
            assertEquals(Set.of("node1", "node2", "node3"), nodes, "6 detached sleeps in a row: " + ps.out());
        } finally {
            List<String> kill = new ArrayList<>(List.of("kill", "-9"));
            kill.addAll(gpids);
            cli().run(kill.toArray(String[]::new));
        }
    }

    static String sha256(Path file) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        byte[] buf = new byte[1 << 16];
        try (InputStream s = Files.newInputStream(file)) {
            for (int n; (n = s.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /**
     * Arguments and environment as large as the kernel lets the caller have them: 1 MiB of
     * arguments and 300 kB of environment with a default stack limit (ARG_MAX 2 MiB), across
     * nodes, through both clients (1 MiB of arguments failed with "Broken pipe" and "null").
     */
    @ParameterizedTest(name = "JVM client: {0}")
    @CsvSource({"false", "true"})
    void argumentsAndEnvironmentUpToTheKernelsLimit(boolean jvm) throws Exception {
        List<String> args = new ArrayList<>();
        for (char c = 'a'; c < 'i'; c++) {
            args.add(String.valueOf(c).repeat(128_000));
        }
        List<String> cmd = new ArrayList<>(List.of("run", "-n", "node3", "--", "sh", "-c",
            "for a; do echo ${#a}; done; echo ${#E2E_BIG1} ${#E2E_BIG2} ${#E2E_BIG3}; printf %s \"$*\" | sha256sum", "sh"));
        cmd.addAll(args);
        Cli c = jvm ? cli().withEnv("GESTALT_JVM_CLIENT", "1") : cli();
        for (int i = 1; i <= 3; i++) { // each string of the environment, as of the arguments, is at most 128 KiB
            c = c.withEnv("E2E_BIG" + i, String.valueOf(i).repeat(100_000));
        }
        var r = c.run(cmd.toArray(String[]::new));
        assertEquals(0, r.exitCode(), () -> brief(r));
        assertEquals("128000\n".repeat(8) + "100000 100000 100000\n" + sha256(String.join(" ", args)) + "  -\n", r.out());
    }

    /** Under an unlimited stack a caller may have 6 MiB of arguments: 5 MiB go through, across nodes. */
    @Test
    void fiveMebibytesOfArgumentsUnderAnUnlimitedStack() throws Exception {
        List<String> args = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            args.add(Character.toString('a' + i % 26).repeat(131_000));
        }
        Path words = tmp.resolve("words");
        Files.writeString(words, String.join("\n", args));
        // the arguments are made under the unlimited stack: exec'ing them from this JVM would not fit
        var r = cli().withPrefix("prlimit", "--stack=unlimited", "--", "bash", "-c", "exec \"$@\" $(cat " + words + ")", "bash")
            .run("run", "-n", "node3", "--", "sh", "-c", "echo $#; printf %s \"$*\" | sha256sum", "sh");
        assertEquals(0, r.exitCode(), () -> brief(r));
        assertEquals("40\n" + sha256(String.join(" ", args)) + "  -\n", r.out());
    }

    /**
     * Over the node's limit on a request (the JVM client carries text as UTF-8: a byte that is not
     * UTF-8 takes three), the CLI says so in one line, as Gestalt's failure.
     */
    @Test
    void overTheRequestLimitIsAOneLineError() throws Exception {
        byte[] word = new byte[131_000];
        java.util.Arrays.fill(word, (byte) 0xff);
        Path words = tmp.resolve("words");
        try (var out = Files.newOutputStream(words)) {
            for (int i = 0; i < 24; i++) {
                out.write(word);
                out.write('\n');
            }
        }
        var r = cli().withEnv("GESTALT_JVM_CLIENT", "1")
            .withPrefix("prlimit", "--stack=unlimited", "--", "bash", "-c", "exec \"$@\" $(cat " + words + ")", "bash")
            .run("run", "--", "true");
        assertEquals(255, r.exitCode(), () -> brief(r));
        assertEquals(1, r.stderr().lines().count(), "one line: " + r.describe());
        assertTrue(r.stderr().contains("arguments and environment take") && r.stderr().contains("8388608"), () -> brief(r));
    }

    /**
     * A reader that goes away ({@code ps -e | head -2}; here one that reads nothing, so that the
     * CLI surely writes after it left) ends a JVM-client command quietly, as SIGPIPE ends a local program.
     */
    @Test
    void aClosedStdoutEndsTheCliQuietly() {
        var r = cli().withPrefix("bash", "-c", "set -o pipefail; \"$@\" | true", "bash").run("ps", "-e");
        assertEquals("", r.stderr(), "no message for a closed stdout: " + r.describe());
        assertEquals(141, r.exitCode(), "the status of a program ended by SIGPIPE: " + r.describe());
    }

    /** A result without its (huge) arguments. */
    private static String brief(Cli.Result r) {
        String o = r.out();
        return "exit " + r.exitCode() + "\n--- stdout ---\n" + (o.length() > 2000 ? o.substring(0, 2000) + "..." : o)
            + "\n--- stderr ---\n" + r.stderr();
    }

    private static String sha256(String s) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    }
}

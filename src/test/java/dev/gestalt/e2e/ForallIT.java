package dev.gestalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.gestalt.testkit.Cli;
import dev.gestalt.testkit.Eventually;
import dev.gestalt.testkit.GnuParallel;
import dev.gestalt.testkit.LocalClusterFixture;
import dev.gestalt.testkit.Procs;
import dev.gestalt.testkit.TinyJson;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code gestalt forall} against GNU parallel itself: the same arguments, stdin, working
 * directory and shell, output for output and exit code for exit code (sorted where the
 * order is the order tasks end). Then what parallel cannot be compared on: placement over
 * the cluster, Ctrl-C, outputs larger than anything forall may hold, and a failure to
 * deliver output.
 */
@Tag("e2e")
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class ForallIT {

    @RegisterExtension
    static final LocalClusterFixture cluster = LocalClusterFixture.shared(3);

    @TempDir
    static Path dir;
    static GnuParallel parallel;

    @BeforeAll
    static void files() throws IOException {
        Files.writeString(dir.resolve("letters"), "a\nb\n");
        Files.writeString(dir.resolve("with-empty"), "x\n\ny z\n");
        Path home = Files.createDirectories(dir.resolve("parallel-home"));
        parallel = new GnuParallel(home, dir, "/bin/bash");
    }

    private static Cli cli() {
        return cluster.cli(1).withCwd(dir).withEnv("PARALLEL_SHELL", "/bin/bash");
    }

    /** How a case is compared: exactly, by sorted lines (outputs come in the order tasks end), or stdout and code only. */
    enum Compare { EXACT, SORTED, STDOUT_AND_CODE }

    static Arguments c(Compare how, String stdin, String... args) {
        return Arguments.of(how, stdin, Arrays.asList(args));
    }

    static Stream<Arguments> sameAsParallel() {
        return Stream.of(
            // replacement strings, empty and odd arguments
            c(Compare.EXACT, "", "-k", "echo", "{}", "{.}", "{/}", "{//}", "{/.}", "{#}", ":::",
                "a/b.c", "d", "e.f/g.h/", ".bashrc", "", "x y.z", "/top.tar.gz"),
            c(Compare.EXACT, "", "-k", "printf", "[%s]\\n", "{2}", "{1}", "{1.}", "{-1}", "{2/}", "{3}", "{2//}",
                ":::", "a.x", "b", ":::", "d/e.f", "g"),
            c(Compare.EXACT, "", "-j", "1", "-k", "echo", "{%}", "{#}", ":::", "a", "b", "c"),
            // several sources: every combination, in parallel's order; linked sources
            c(Compare.EXACT, "", "-k", "echo", ":::", "a", "b", ":::", "1", "2", "3"),
            c(Compare.EXACT, "", "-k", "echo", ":::", "a", "b", "c", ":::+", "1", "2", "3"),
            c(Compare.EXACT, "", "-k", "echo", ":::", "a", "b", "c", ":::+", "1", "2"),
            c(Compare.EXACT, "1\n2\n", "-k", "echo", "::::", "letters", "::::", "-"),
            c(Compare.EXACT, "", "-k", "echo", "::::", "letters", "letters", ":::", "x"),
            c(Compare.EXACT, "ignored\n", "-k", "-a", "letters", "echo"),
            c(Compare.EXACT, "", "-k", "echo", "{}", "::::", "with-empty"),
            // stdin: each line an argument, empty ones too, with or without a last newline
            c(Compare.EXACT, "a\n\nb c\n", "-k", "echo", "x"),
            c(Compare.EXACT, "a\n\nb", "-k", "printf", "[%s]\\n"),
            c(Compare.EXACT, "\n", "-k", "echo", "x"),
            c(Compare.EXACT, "", "-k", "echo", "x"),
            // a shell command line, as parallel runs it; -q: the words as they are
            c(Compare.EXACT, "", "-k", "echo {} | tr a-z A-Z; echo e{} >&2", ":::", "ab", "cd"),
            c(Compare.EXACT, "", "-k", "printf", "[%s]", "x {} y", ":::", "a", "b c"),
            c(Compare.EXACT, "", "-k", "-q", "printf", "[%s]", "x {} y", ":::", "a", "b c"),
            c(Compare.EXACT, "", "-k", "echo", "a  b", ":::", "x"),
            c(Compare.EXACT, "", "-k", "-q", "echo", "a  b", ":::", "x"),
            c(Compare.EXACT, "", "-k", "printf", "[%s]\\n", ":::", "a;b", "$HOME", "it's", "`id`", "*", "~"),
            c(Compare.EXACT, "", "-k", ":::", "echo hi", "echo ho; echo x"),
            c(Compare.EXACT, "", "-k", "--tag", "echo", ":::", "a", "b", ":::", "1", "2"),
            // output order: as tasks end; exit code: the number of failed tasks
            c(Compare.SORTED, "", "sleep 0.$((4 - {})); echo t{}; echo e{} >&2", ":::", "1", "2", "3"),
            c(Compare.EXACT, "", "-k", "sleep 0.$((4 - {})); echo t{}; echo e{} >&2; exit {}", ":::", "1", "2", "3", "0"),
            // --halt, the common forms (stderr: each tool names the task in its own words)
            c(Compare.STDOUT_AND_CODE, "", "-j", "1", "--halt", "now,fail=1", "echo {}; exit {}", ":::", "0", "3", "0", "2"),
            c(Compare.STDOUT_AND_CODE, "", "-j", "1", "--halt", "soon,fail=2", "echo {}; exit {}", ":::", "0", "3", "0", "2", "4"),
            c(Compare.STDOUT_AND_CODE, "", "-j", "1", "--halt", "now,success=1", "echo {}; exit {}", ":::", "1", "2", "0", "3"),
            c(Compare.STDOUT_AND_CODE, "", "-j", "1", "--halt", "soon,fail=50%", "echo {}; exit {}", ":::", "1", "2", "0", "0"),
            c(Compare.STDOUT_AND_CODE, "", "-j", "1", "--halt", "now,done=2", "echo {}; exit {}", ":::", "1", "0", "3"),
            c(Compare.STDOUT_AND_CODE, "", "-j", "1", "--halt", "2", "echo {}; exit {}", ":::", "0", "5", "0"),
            c(Compare.STDOUT_AND_CODE, "", "-j", "2", "--halt", "now,fail=1", "sleep {}; echo {}; exit 1", ":::", "0.5", "30"),
            // --timeout: the task is killed, its output so far printed, and it counts as failed
            c(Compare.STDOUT_AND_CODE, "", "-k", "--timeout", "2", "echo s{}; sleep {}; echo e{}", ":::", "0.1", "20"),
            // --retries N: N runs in all; the last one's output
            c(Compare.EXACT, "", "--retries", "3", "echo try; exit 1", ":::", "a"));
    }

    @ParameterizedTest(name = "[{index}] {2}")
    @MethodSource
    void sameAsParallel(Compare how, String stdin, List<String> args) {
        assumeTrue(GnuParallel.installed(), "GNU parallel is installed by scripts/install-deps");
        byte[] in = stdin.getBytes(StandardCharsets.UTF_8);
        var expected = parallel.run(in, args);
        var got = cli().run(in, concat(List.of("forall"), args));
        String what = "\n=== parallel ===\n" + expected.describe() + "\n=== forall ===\n" + got.describe();
        assertEquals(expected.exitCode(), got.exitCode(), "exit code" + what);
        switch (how) {
            case EXACT -> {
                assertEquals(expected.out(), got.out(), "stdout" + what);
                assertEquals(expected.stderr(), got.stderr(), "stderr" + what);
            }
            case SORTED -> {
                assertEquals(sorted(expected.out()), sorted(got.out()), "stdout" + what);
                assertEquals(sorted(expected.stderr()), sorted(got.stderr()), "stderr" + what);
            }
            case STDOUT_AND_CODE -> assertEquals(expected.out(), got.out(), "stdout" + what);
        }
    }

    private static List<String> sorted(String s) {
        return s.lines().sorted().toList();
    }

    private static String[] concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all.toArray(String[]::new);
    }

    @Test
    void moreThanAHundredFailuresExit101() {
        assumeTrue(GnuParallel.installed(), "GNU parallel is installed by scripts/install-deps");
        List<String> args = new ArrayList<>(List.of("-j", "16", "exit 1", ":::"));
        IntStream.rangeClosed(1, 102).forEach(i -> args.add(Integer.toString(i)));
        assertEquals(101, parallel.run(new byte[0], args).exitCode());
        var r = cli().run(concat(List.of("forall"), args));
        assertEquals(101, r.exitCode(), r::describe);
    }

    /** The joblog's columns as parallel writes them; Host is the execution node, times are the task's own. */
    @Test
    void joblogIsParallelsFormat() throws IOException {
        assumeTrue(GnuParallel.installed(), "GNU parallel is installed by scripts/install-deps");
        List<String> args = List.of("-k", "--timeout", "2", "--joblog", "LOG", "echo {}; sleep {}; exit 3", ":::", "0", "0.1", "20");
        var p = parallel.run(new byte[0], args.stream().map(a -> a.equals("LOG") ? "parallel.log" : a).toList());
        var g = cli().run(concat(List.of("forall"), args.stream().map(a -> a.equals("LOG") ? "forall.log" : a).toList()));
        assertEquals(p.exitCode(), g.exitCode(), g::describe);
        List<String> pl = Files.readAllLines(dir.resolve("parallel.log"));
        List<String> gl = Files.readAllLines(dir.resolve("forall.log"));
        assertEquals(pl.getFirst(), gl.getFirst(), "header");
        assertEquals(pl.size(), gl.size(), "one line per task: " + gl);
        for (int i = 1; i < pl.size(); i++) {
            String[] pc = pl.get(i).split("\t", -1);
            String[] gc = gl.get(i).split("\t", -1);
            assertEquals(9, gc.length, gl.get(i));
            assertTrue(Set.of("node1", "node2", "node3").contains(gc[1]), "Host: " + gl.get(i));
            assertTrue(gc[2].matches("\\d{10}\\.\\d{3}") && gc[3].matches(" *\\d+\\.\\d{3}"), "times: " + gl.get(i));
            for (int col : new int[] {0, 4, 5, 6, 7, 8}) {
                assertEquals(pc[col], gc[col], "column " + col + " of\n" + pl.get(i) + "\n" + gl.get(i));
            }
        }
        assertTrue(Files.getPosixFilePermissions(dir.resolve("forall.log")).equals(
            Files.getPosixFilePermissions(dir.resolve("parallel.log"))), "created as the caller, with the caller's umask");
        var denied = cli().run("forall", "--joblog", "/nonexistent/log", "echo", ":::", "a");
        assertEquals(255, denied.exitCode(), denied::describe);
        assertEquals("", denied.out(), "no task ran");
        assertEquals(1, denied.stderr().lines().count(), denied::describe);
    }

    @Test
    void unsupportedSyntaxIsRefusedClearly() {
        var perl = cli().run("forall", "echo", "{= $_ .= 'x' =}", ":::", "a");
        assertEquals(2, perl.exitCode(), perl::describe);
        assertEquals("", perl.out());
        assertEquals(1, perl.stderr().lines().count(), perl::describe);
        assertTrue(perl.stderr().contains("not supported"), perl::describe);
        for (List<String> bad : List.of(List.of("--halt", "later,fail=1"), List.of("--timeout", "10%"), List.of("-j", "x"),
            List.of("--no-such-option"))) {
            List<String> args = new ArrayList<>(List.of("forall"));
            args.addAll(bad);
            args.addAll(List.of("echo", ":::", "a"));
            var r = cli().run(args.toArray(String[]::new));
            assertEquals(2, r.exitCode(), r::describe);
            assertEquals("", r.out());
            assertTrue(r.stderr().startsWith("gestalt forall: "), r::describe);
        }
        var missing = cli().run("forall", "echo", "::::", "no-such-file");
        assertEquals(255, missing.exitCode(), missing::describe);
        assertEquals("gestalt forall: cannot read no-such-file: No such file or directory\n", missing.stderr());
    }

    @Test
    void twoHundredTasksAllRun() {
        List<String> cmd = new ArrayList<>(List.of("forall", "--", "echo", "task-{}", ":::"));
        IntStream.rangeClosed(1, 200).forEach(i -> cmd.add(Integer.toString(i)));
        var r = cli().run(cmd.toArray(String[]::new));
        assertEquals(0, r.exitCode(), r::describe);
        List<String> lines = r.out().lines().sorted().toList();
        List<String> expected = IntStream.rangeClosed(1, 200).mapToObj(i -> "task-" + i).sorted().toList();
        assertEquals(expected, lines);
    }

    @Test
    void tasksAreSpreadOverTheCluster() {
        cluster.awaitIdle(0.2);
        var forall = cli().start("forall", "-j", "6", "--", "sleep", "16.{}", ":::", "1", "2", "3", "4", "5", "6");
        Set<Object> nodes = new HashSet<>();
        Eventually.holds(Duration.ofSeconds(60), "6 parallel tasks run on all 3 nodes (seen: " + nodes + ")", () -> {
            var ps = cli().run("ps", "--json");
            TinyJson.rows(ps.out()).stream()
                .filter(m -> String.valueOf(m.get("command")).matches("sleep 16\\.[1-6]"))
                .forEach(m -> nodes.add(m.get("node")));
            return nodes.size() == 3 || !forall.isAlive();
        });
        assertEquals(Set.of("node1", "node2", "node3"), nodes);
        var r = forall.await(Duration.ofSeconds(90));
        assertEquals(0, r.exitCode(), r::describe);
    }

    /** Issue 8 item 12: Ctrl-C ends forall once, with 130, its tasks killed, nothing more printed. */
    @Test
    void ctrlCEndsItOnceWith130() {
        var forall = cli().start("forall", "-j", "4", "echo started {}; sleep 317", ":::", "1", "2", "3", "4", "5", "6");
        Eventually.holds(Duration.ofSeconds(60), "4 tasks running", () ->
            TinyJson.rows(cli().run("ps", "--json").out()).stream()
                .filter(m -> String.valueOf(m.get("command")).contains("sleep 317")).count() == 4);
        forall.signal("INT");
        var r = forall.await(Duration.ofSeconds(30));
        assertEquals(130, r.exitCode(), r::describe);
        assertEquals("", r.out(), "their output was not complete: none is printed");
        assertEquals("", r.stderr(), "no line per task");
        Eventually.holds(Duration.ofSeconds(20), "no task left running", () ->
            TinyJson.rows(cli().run("ps", "--json").out()).stream()
                .noneMatch(m -> String.valueOf(m.get("command")).contains("sleep 317") && !"exited".equals(m.get("state"))));
    }

    /** Lines of this task's output: LINE repeated to N bytes (the last line cut). */
    private static String producer(String line, long bytes) {
        return "yes " + line + " | head -c " + bytes;
    }

    private static String sha256(String command) {
        var r = Procs.exec(120, "sh", "-c", command + " | sha256sum");
        assertEquals(0, r.exitCode(), r.stderr());
        return r.stdout().split(" ")[0];
    }

    /**
     * Issue 7 item 8: output bigger than all forall may hold in memory (64 MiB for the node;
     * 1 MiB a task) goes through whole: one task's streams as it comes; with -k, a later task's
     * waits in a spill file until its turn; several at once each come in one piece.
     */
    @Test
    void outputLargerThanAnyBufferIsDeliveredWhole() throws IOException {
        long big = 200L << 20;
        Path out = dir.resolve("big.out");
        var one = cli().call("forall", producer("{}", big), ":::", "0123456789abcdef").stdoutTo(out)
            .timeout(Duration.ofMinutes(3)).run();
        assertEquals(0, one.exitCode(), one::describe);
        assertEquals(big, Files.size(out));
        assertEquals(sha256(producer("0123456789abcdef", big)), sha256("cat " + out));

        // held output is bounded: it streams while the task still runs (before, all of it waited for the end)
        var running = cli().call("forall", producer("{}", big) + "; sleep 300", ":::", "S").stdoutTo(out).start();
        try {
            Eventually.holds(Duration.ofSeconds(90), "the output arrives while the task runs", () -> size(out) == big);
            assertTrue(running.isAlive());
        } finally {
            running.signal("INT");
        }
        assertEquals(130, running.await(Duration.ofSeconds(30)).exitCode());

        long mid = 80L << 20;
        var ordered = cli().call("forall", "-k", "sleep {1}; " + producer("{2}", mid), ":::", "3", "0", "0", ":::+", "A", "B", "C")
            .stdoutTo(out).timeout(Duration.ofMinutes(3)).run();
        assertEquals(0, ordered.exitCode(), ordered::describe);
        assertEquals(sha256("(" + producer("A", mid) + "; " + producer("B", mid) + "; " + producer("C", mid) + ")"),
            sha256("cat " + out), "A, then B and C (held meanwhile), each whole");

        var grouped = cli().call("forall", "-j", "3", producer("{}", mid), ":::", "X", "Y", "Z").stdoutTo(out)
            .timeout(Duration.ofMinutes(3)).run();
        assertEquals(0, grouped.exitCode(), grouped::describe);
        var runs = Procs.exec(120, "sh", "-c", "uniq -c < " + out + " | awk '{print $2}' | tr -d '\\n'");
        assertEquals(3, runs.stdout().strip().length(), "three runs of lines, one per task, not interleaved: " + runs.stdout());
        assertEquals(Set.of('X', 'Y', 'Z'), runs.stdout().strip().chars().mapToObj(ch -> (char) ch).collect(java.util.stream.Collectors.toSet()));
        assertEquals(3 * mid, Files.size(out));
    }

    private static long size(Path f) {
        try {
            return Files.size(f);
        } catch (IOException e) {
            return -1;
        }
    }

    /** Output that cannot be held until its turn is an error and a failed task, never a silent loss. */
    @Test
    void outputThatCannotBeDeliveredIsAnError() throws IOException {
        Path spill = cluster.dir().resolve("node1/state/spill");
        boolean existed = Files.isDirectory(spill);
        Files.createDirectories(spill);
        var mode = Files.getPosixFilePermissions(spill);
        Files.setPosixFilePermissions(spill, PosixFilePermissions.fromString("rwxr-xr-x"));
        try {
            long each = 4L << 20;
            var r = cli().run("forall", "-k", "sleep {1}; " + producer("{2}", each), ":::", "2", "0", ":::+", "A", "B");
            assertEquals(1, r.exitCode(), "the second task failed: " + r.describe());
            assertTrue(r.stderr().contains("task 2") && r.stderr().contains(spill.toString()), r::describe);
            assertTrue(r.out().length() >= each && r.out().substring(0, (int) each).equals("A\n".repeat((int) each / 2)),
                "the first task's output, whole");
            assertTrue(r.out().length() < 2 * each, "of the second, only what was held before it failed (and it is reported)");
        } finally {
            if (existed) {
                Files.setPosixFilePermissions(spill, mode);
            } else {
                Files.delete(spill);
            }
        }
    }
}

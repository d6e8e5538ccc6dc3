package dev.gestalt.process.supervisor;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** gestalt-exec itself, in the foreground: installed once per binary, refuses bad usage with 255 and one line, reaps what it adopts. */
class ExecHelperTest {
    @TempDir
    static Path state;

    private record Result(int code, String out, String err) {}

    private static Result run(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(ExecHelper.install(state).toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        assertTrue(p.waitFor(20, TimeUnit.SECONDS), "ended");
        return new Result(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8),
                new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    @Test
    void installIsIdempotentAndNamedByDigest() throws Exception {
        Path a = ExecHelper.install(state);
        Path b = ExecHelper.install(state);
        assertEquals(a, b);
        assertTrue(a.getFileName().toString().matches("gestalt-exec-[0-9a-f]{12}"), a.toString());
        assertTrue(Files.isExecutable(a));
        try (var files = Files.list(a.getParent())) {
            assertEquals(1, files.count(), "no temp file left behind");
        }
    }

    @Test
    void badUsageIs255WithOneLineAndAUsage() throws Exception {
        for (String[] bad : List.of(new String[] {"-x", "--", "true"}, new String[] {"-r", "99=1:1", "--", "true"},
                new String[] {"-u", "5", "--", "true"}, new String[] {"-p"}, new String[] {"-t", "24x80", "--", "true"},
                new String[] {"-d", "--", "true"}, new String[] {"-C", "relative", "--", "true"}, new String[] {"--keeper"})) {
            Result r = run(bad);
            assertEquals(255, r.code(), String.join(" ", bad));
            assertTrue(r.err().startsWith("gestalt-exec: "), r.err());
            assertTrue(r.err().contains("Usage: gestalt-exec"), r.err());
        }
    }

    @Test
    void runsTheProgramWithLimitsAndReturnsItsStatus() throws Exception {
        Result r = run("-r", "7=100:200", "--", "sh", "-c", "ulimit -n; ulimit -Hn; exit 9");
        assertEquals(9, r.code(), r.err());
        assertEquals("100\n200\n", r.out());
        Result missing = run("--", "/nonexistent/prog");
        assertEquals(127, missing.code());
        assertEquals("gestalt-exec: /nonexistent/prog: No such file or directory\n", missing.err());
    }

    @Test
    void orphansOfTheProgramAreReapedNotLeftAsZombies() throws Exception {
        // Without -p the wrapper is a child subreaper: a background sleep whose parent (a subshell)
        // ended at once is re-parented to it and must be reaped when it ends, while the program runs on.
        Result r = run("--", "sh", "-c", "p=$( (sleep 0.3 >/dev/null 2>&1 & echo $!) ); echo $PPID $(cut -d' ' -f4 /proc/$p/stat);"
                + " sleep 1; if [ -e /proc/$p ]; then cut -d' ' -f3 /proc/$p/stat; else echo gone; fi; exit 4");
        assertEquals(4, r.code(), r.err());
        List<String> lines = r.out().lines().toList();
        String[] parents = lines.getFirst().split(" ");
        assertEquals(parents[0], parents[1], "the orphan was adopted by the wrapper (the program's parent)");
        assertEquals("gone", lines.get(1), "and reaped by it (Z = left as a zombie)");
    }
}

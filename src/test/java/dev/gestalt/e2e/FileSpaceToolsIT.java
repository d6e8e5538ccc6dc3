package dev.gestalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.gestalt.testkit.Cli;
import dev.gestalt.testkit.Eventually;
import dev.gestalt.testkit.LocalClusterFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Real programs on the file space across nodes: {@code make -j} of a real C project (Lua, from
 * scripts/install-deps) in the tree with every recipe placed on the cluster by {@code gestalt
 * run} (make's SHELL is a wrapper); sqlite3 writing a database on one node and another node
 * reading it; flock held on one node excluding another.
 */
@Tag("e2e")
@Timeout(value = 8, unit = TimeUnit.MINUTES)
class FileSpaceToolsIT {

    @RegisterExtension
    static final LocalClusterFixture cluster = LocalClusterFixture.shared(3);

    static final Path LUA = Path.of(System.getenv().getOrDefault("GESTALT_PREFIX", "/opt/gestalt"), "src", "lua");

    @BeforeAll
    static void root() {
        assumeTrue("root".equals(System.getProperty("user.name")), "the file space of a local cluster needs root");
    }

    private static Cli.Result on(int node, String script) {
        return cluster.cli(node).withCwd(Path.of("/tmp")).call("run", "-n", "node" + node, "--", "sh", "-c", script)
            .timeout(Duration.ofMinutes(6)).run();
    }

    @Test
    void gestaltMakeDashJOfARealCProjectPlacesEveryCompileOnTheClusterInParallel() throws Exception {
        assumeTrue(Files.isRegularFile(LUA.resolve("src/lua.c")), "Lua's source (scripts/install-deps) at " + LUA);
        String dir = "/gestalt/build-" + System.nanoTime();
        // the compiler, through a wrapper that notes where and when each compile ran (one file
        // each: appends from several nodes at once are not atomic in a network file system)
        String cc = dir + "/cc.sh";
        String wrapper = "#!/bin/sh\ns=$(date +%s%N); gcc -std=gnu99 \"$@\"; rc=$?; e=$(date +%s%N)\n"
            + "echo \"$(grep -o 'v[0-9]*:' /proc/self/net/dev | head -1) $s $e\" > " + dir + "/.where/$s-$$\nexit $rc\n";
        try {
            // Lua's top Makefile builds in src/ with a recursive make ($(MAKE)): that make stays on
            // node1 and shares the jobserver; before gestalt make it ran as a recipe on some node,
            // without it, one compile at a time ("jobserver unavailable: using -j1")
            var b = on(1, "cp -r " + LUA + " " + dir + " && mkdir " + dir + "/.where && printf '%s' '"
                + wrapper.replace("'", "'\\''") + "' > " + cc + " && chmod +x " + cc + " && cd " + dir + " && '"
                + Cli.repoLauncher() + "' make -j4 linux CC=" + cc + " >/dev/null 2>" + dir + "/make.err; echo built $?; cat "
                + dir + "/make.err");
            assertTrue(b.out().startsWith("built 0\n"), b::describe);
            assertTrue(!b.out().contains("jobserver"), "the recursive make reached the jobserver: " + b.out());
            var lua = on(3, dir + "/src/lua -e 'print(6 * 7)'");
            assertEquals("42\n", lua.out(), lua::describe);
            var where = on(2, "cat " + dir + "/.where/*");
            record Compile(String node, long start, long end) {}
            List<Compile> runs = where.out().lines().map(l -> l.split(" "))
                .map(f -> new Compile(f[0], Long.parseLong(f[1]), Long.parseLong(f[2]))).toList();
            assertTrue(runs.size() >= 30, "every compile went through make's shell: " + where.out());
            assertTrue(runs.stream().map(Compile::node).distinct().count() >= 2, "compiles ran on several nodes: " + where.out());
            long overlapping = runs.stream().filter(a -> runs.stream()
                .anyMatch(o -> o != a && o.start() < a.end() && a.start() < o.end())).count();
            assertTrue(overlapping >= 4, "compiles ran at the same time (-j4 held in the recursive make): " + overlapping
                + " of " + runs.size() + " overlapped another");
        } finally {
            on(1, "rm -rf " + dir);
        }
    }

    /**
     * `gestalt make` sets SHELL on make's command line, which wins over the Makefile's: the shell
     * the Makefile sets (SHELL := /bin/bash) is the one its lines run in on the cluster (there,
     * each line is the program of a job: PID 2). A value with make syntax is not evaluated: said
     * on stderr, /bin/sh.
     */
    @Test
    void gestaltMakeRunsTheLinesInTheShellTheMakefileSets() {
        String dir = "/gestalt/shell-" + System.nanoTime();
        String line = "\t@echo \"shell=$${BASH_VERSION:+bash} pid=$$$$\"\n";
        try {
            var r = on(1, "mkdir -p " + dir + "/sub && cd " + dir + " && printf 'SHELL := /bin/bash # bash syntax below\nall:\n"
                + line + "' > Makefile && printf 'SHELL = $(BASH)\nall:\n" + line + "' > sub/Makefile && '"
                + Cli.repoLauncher() + "' make && '" + Cli.repoLauncher() + "' make -C sub 2>&1");
            assertEquals(0, r.exitCode(), r::describe);
            List<String> out = r.out().lines().filter(l -> !l.startsWith("make")).toList();
            assertEquals("shell=bash pid=2", out.get(0), "the Makefile's bash, on the cluster: " + r.out());
            assertTrue(out.get(1).startsWith("gestalt make: ./sub/Makefile sets SHELL to '$(BASH)', which gestalt make does not"
                + " evaluate: its lines run in /bin/sh"), r::describe);
            assertEquals("shell= pid=2", out.get(2), "/bin/sh then: " + r.out());
        } finally {
            on(1, "rm -rf " + dir);
        }
    }

    @Test
    void aSqliteDatabaseWrittenOnOneNodeIsReadOnAnother() {
        String db = "/gestalt/db-" + System.nanoTime() + ".sqlite";
        var w = on(1, "sqlite3 " + db + " \"create table t(x); insert into t values (42), (43);\"");
        assertEquals(0, w.exitCode(), w::describe);
        var r = on(3, "sqlite3 " + db + " \"select sum(x) from t;\"");
        assertEquals("85\n", r.out(), r::describe);
        var again = on(2, "sqlite3 " + db + " \"insert into t values (1);\" && sqlite3 " + db + " \"select count(*) from t;\"");
        assertEquals("3\n", again.out(), again::describe);
        on(1, "rm -f " + db);
    }

    @Test
    void aFlockHeldOnOneNodeExcludesAnother() {
        String lock = "/gestalt/lock-" + System.nanoTime();
        // the lock file exists before either node opens it: two nodes creating one new name at the same
        // instant can meet MooseFS's EEXIST (README, the file space's limits), which is not what this tests
        var made = on(1, "touch " + lock);
        assertEquals(0, made.exitCode(), made::describe);
        // attached, not detached: an ended detached process stays in the shared cluster's ps for an hour
        // sleeps far longer than the test waits: the holder must never end by itself (a slow run on node2
        // once outlived a 60 s sleep on a loaded CI machine and the TERM below found no process)
        var holder = cluster.cli(1).withCwd(Path.of("/tmp")).start("run", "-n", "node1", "--",
            "flock", lock, "sleep", "600");
        try {
            Eventually.holds(Duration.ofSeconds(60), "node2 finds the lock taken",
                () -> !holder.isAlive() || on(2, "flock -n " + lock + " true; echo $?").out().equals("1\n"));
            assertTrue(holder.isAlive(), () -> "the holder of the lock ended by itself: "
                + holder.await(Duration.ofSeconds(10)).describe());
        } finally {
            if (holder.isAlive()) {
                holder.signal("TERM");
            }
            holder.await(Duration.ofSeconds(30));
        }
        Eventually.holds(Duration.ofSeconds(30), "node2 takes the lock once node1 let it go",
            () -> on(2, "flock -n " + lock + " true; echo $?").out().equals("0\n"));
        on(1, "rm -f " + lock);
    }
}

package dev.gestalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gestalt.testkit.Eventually;
import dev.gestalt.testkit.LocalClusterFixture;
import dev.gestalt.testkit.TinyJson;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Real programs move in the middle of their work and finish it as if they had not moved (issue 9's
 * tests): a JVM with threads, {@code make} in the middle of a parallel build, a Python program with
 * an open SQLite database writing to it, and a Python program with 1 GiB of memory that it keeps
 * dirtying. Each runs detached on node2, is moved to node3 once it is under way, then told to
 * finish (a flag file: the nodes of a local cluster share the host's /tmp), and its own checks of
 * its work reach its log.
 */
@Tag("e2e")
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class MigrateProgramsIT {

    @RegisterExtension
    static final LocalClusterFixture cluster = LocalClusterFixture.shared(3);

    private static Path dir;

    @BeforeAll
    static void folder() throws IOException {
        dir = Files.createTempDirectory("gst-programs-");
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    @AfterAll
    static void clean() {
        if (dir != null) {
            dev.gestalt.testkit.Procs.exec(30, "rm", "-rf", dir.toString());
        }
    }

    /** Starts {@code command} detached on node2 once it printed {@code ready}, moves it to node3; its GPID. */
    private static String startAndMove(String ready, String... command) {
        String[] args = new String[command.length + 5];
        args[0] = "run";
        args[1] = "-d";
        args[2] = "-n";
        args[3] = "node2";
        args[4] = "--";
        System.arraycopy(command, 0, args, 5, command.length);
        var r = cluster.cli(1).withCwd(dir).run(args);
        assertEquals(0, r.exitCode(), r::describe);
        String gpid = r.out().strip();
        Eventually.holds(Duration.ofSeconds(90), gpid + " is under way",
            () -> cluster.cli(1).run("logs", gpid).out().contains(ready));
        var moved = cluster.cli(1).run("migrate", gpid, "node3");
        assertEquals(0, moved.exitCode(), moved::describe);
        assertEquals("node3", psRow(gpid).get("node"), "it runs on node3 now");
        return gpid;
    }

    private static java.util.Map<String, Object> psRow(String gpid) {
        var ps = cluster.cli(1).run("ps", "--json");
        return TinyJson.rows(ps.out()).stream().filter(m -> gpid.equals(m.get("gpid"))).findFirst()
            .orElseThrow(() -> new AssertionError(gpid + " not in ps: " + ps.out()));
    }

    /** Tells it to finish (the flag file), waits for its end: code 0; its log. */
    private static String finish(String gpid, Path flag) throws IOException {
        Files.writeString(flag, "");
        var waited = cluster.cli(1).run("wait", gpid);
        var logs = cluster.cli(1).run("logs", gpid);
        assertEquals(0, waited.exitCode(), () -> waited.describe() + "\n" + logs.describe());
        return logs.out();
    }

    /** A JVM with four busy threads: each of them goes on counting on its new node. */
    @Test
    void aJvmWithThreads() throws Exception {
        Path flag = dir.resolve("jvm-go");
        Files.writeString(dir.resolve("Busy.java"), """
            import java.nio.file.*;
            import java.util.concurrent.atomic.AtomicLongArray;
            public class Busy {
                public static void main(String[] a) throws Exception {
                    var counts = new AtomicLongArray(4);
                    for (int i = 0; i < 4; i++) {
                        int k = i;
                        Thread t = new Thread(() -> { while (true) { counts.incrementAndGet(k); try { Thread.sleep(1); } catch (InterruptedException e) { return; } } });
                        t.setDaemon(true);
                        t.start();
                    }
                    Thread.sleep(500);
                    System.out.println("ready " + ProcessHandle.current().pid());
                    while (!Files.exists(Path.of(a[0]))) Thread.sleep(50);
                    long[] before = new long[4];
                    for (int i = 0; i < 4; i++) before[i] = counts.get(i);
                    Thread.sleep(1000);
                    int going = 0;
                    for (int i = 0; i < 4; i++) if (counts.get(i) > before[i]) going++;
                    System.out.println("threads counting after the move: " + going + " of 4");
                    System.exit(going == 4 ? 0 : 3);
                }
            }
            """);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String gpid = startAndMove("ready", java, "-Xmx128m", dir.resolve("Busy.java").toString(), flag.toString());
        String log = finish(gpid, flag);
        assertTrue(log.contains("threads counting after the move: 4 of 4"), log);
    }

    /** make -j2 in the middle of a build of eight targets: it finishes, every target built once. */
    @Test
    void makeInTheMiddleOfABuild() throws Exception {
        Path build = Files.createDirectory(dir.resolve("build"));
        Files.setPosixFilePermissions(build, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
        StringBuilder mk = new StringBuilder("T = t1 t2 t3 t4 t5 t6 t7 t8\nall: $(T)\n\techo built all\n");
        mk.append("t%:\n\tsleep 1\n\techo $@ >> made\n\techo $@ > $@\n");
        Files.writeString(build.resolve("Makefile"), mk.toString());
        var r = cluster.cli(1).withCwd(build).run("run", "-d", "-n", "node2", "--", "make", "-j2");
        assertEquals(0, r.exitCode(), r::describe);
        String gpid = r.out().strip();
        Eventually.holds(Duration.ofSeconds(60), "the build is under way", () -> Files.exists(build.resolve("t1")));
        var moved = cluster.cli(1).run("migrate", gpid, "node3");
        assertEquals(0, moved.exitCode(), moved::describe);
        assertTrue(!Files.exists(build.resolve("t8")), "moved in the middle of the build");
        var waited = cluster.cli(1).run("wait", gpid);
        var logs = cluster.cli(1).run("logs", gpid);
        assertEquals(0, waited.exitCode(), () -> waited.describe() + "\n" + logs.describe());
        assertTrue(logs.out().contains("built all"), logs.out());
        var made = Files.readAllLines(build.resolve("made"));
        assertEquals(8, made.size(), "each target built once: " + made);
        assertEquals(8, made.stream().distinct().count(), "each target built once: " + made);
        assertEquals(0, dev.gestalt.testkit.Procs.exec(30, "make", "-q", "-C", build.toString(),
            "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8").exitCode(), "nothing left to build");
    }

    /**
     * A process that holds a file lock all along cannot move (CRIU's --file-locks would restore the
     * lock on the target while the frozen copy still holds it): the move is tried again a few
     * times (most locks are brief: SQLite's, above), then fails and says why, and the process runs
     * on where it was, its lock held. Without the tries and the reason, CRIU said only "Dumping
     * FAILED." (cc28, when it froze the SQLite program below inside a transaction).
     */
    @Test
    void aProcessHoldingAFileLockAllAlongStaysAndSaysWhy() throws Exception {
        Path lock = dir.resolve("held.lock");
        var r = cluster.cli(1).withCwd(dir).run("run", "-d", "-n", "node2", "--", "flock", lock.toString(), "sleep", "397");
        assertEquals(0, r.exitCode(), r::describe);
        String gpid = r.out().strip();
        try {
            Eventually.holds(Duration.ofSeconds(60), "the lock is held",
                () -> dev.gestalt.testkit.Procs.exec(10, "flock", "-n", lock.toString(), "true").exitCode() == 1);
            var moved = cluster.cli(1).run("migrate", "--method", "stop-and-copy", gpid, "node3");
            assertEquals(1, moved.exitCode(), moved::describe);
            assertTrue(moved.stderr().contains("it held a file lock (flock or fcntl) as it was frozen, 5 times in a row: a process"
                + " moves between its locks, not while it holds one; " + gpid + " goes on running on node2"), moved::describe);
            assertEquals("node2", psRow(gpid).get("node"));
            assertEquals(1, dev.gestalt.testkit.Procs.exec(10, "flock", "-n", lock.toString(), "true").exitCode(),
                "its lock still held");
        } finally {
            cluster.cli(1).run("kill", gpid);
        }
    }

    /** A Python program with an open SQLite database, writing a row every 20 ms through the move. */
    @Test
    void sqliteWithAnOpenDatabase() throws Exception {
        Path flag = dir.resolve("sqlite-go");
        Path db = dir.resolve("rows.db");
        Files.writeString(dir.resolve("rows.py"), """
            import os, sqlite3, sys, time
            con = sqlite3.connect(sys.argv[1])
            con.execute("create table rows (n integer primary key, at text)")
            n = 0
            while True:
                n += 1
                con.execute("insert into rows values (?, ?)", (n, str(os.getpid())))
                con.commit()
                if n == 20:
                    print("ready", flush=True)
                if n > 20 and os.path.exists(sys.argv[2]):
                    break
                time.sleep(0.02)
            count, top = con.execute("select count(*), max(n) from rows").fetchone()
            check = con.execute("pragma integrity_check").fetchone()[0]
            con.close()
            print("rows", count, "of", top, check, flush=True)
            sys.exit(0 if count == top == n and check == "ok" else 3)
            """);
        String gpid = startAndMove("ready", "python3", dir.resolve("rows.py").toString(), db.toString(), flag.toString());
        Thread.sleep(500); // it writes on there
        String log = finish(gpid, flag);
        assertTrue(log.matches("(?s).*rows (\\d+) of \\1 ok\\n.*"), log);
        var after = dev.gestalt.testkit.Procs.exec(30, "sqlite3", db.toString(), "select count(*) = max(n) from rows");
        assertEquals("1", after.stdout().strip(), "the database as it is left: " + after.stderr());
    }

    /**
     * A Python program with 1 GiB of memory, every 16th page of it written again and again while it
     * moves (post-copy: its pages follow it while it runs): afterwards the pages it wrote last hold
     * its last value, and the others the value it filled them with.
     */
    @Test
    void oneGibibyteBeingDirtied() throws Exception {
        Path flag = dir.resolve("dirty-go");
        Files.writeString(dir.resolve("dirty.py"), """
            import os, sys, time
            N, PAGE = 1 << 30, 4096
            buf = bytearray(b"\\x07") * N
            r = 0
            while True:
                r += 1
                v = r % 251
                buf[0:N:PAGE * 16] = bytes([v]) * (N // (PAGE * 16))
                if r == 5:
                    print("ready", flush=True)
                if r > 5 and os.path.exists(sys.argv[1]):
                    break
                time.sleep(0.01)
            dirtied = buf[0:N:PAGE * 16].count(v) == N // (PAGE * 16)
            others = buf[PAGE:N:PAGE * 16].count(7) == N // (PAGE * 16) and buf[N - 1] == 7
            print("rounds", r, "dirtied pages", "ok" if dirtied else "BAD", "other pages", "ok" if others else "BAD", flush=True)
            sys.exit(0 if dirtied and others else 3)
            """);
        String gpid = startAndMove("ready", "python3", dir.resolve("dirty.py").toString(), flag.toString());
        String log = finish(gpid, flag);
        assertTrue(log.contains("dirtied pages ok other pages ok"), log);
    }
}

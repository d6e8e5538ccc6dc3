package dev.gestalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.gestalt.testkit.Cli;
import dev.gestalt.testkit.Eventually;
import dev.gestalt.testkit.LocalClusterFixture;
import dev.gestalt.testkit.TinyJson;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The file space under faults and odd input, through the CLI on a real root local cluster:
 * awkward names, many entries, a sparse file over 4 GiB; a full chunkserver disk; a
 * chunkserver's whole host killed (files stay readable, copies come back); the master's whole
 * host killed while another node writes (every file closed before is intact, writes work again
 * within 30 s, the node comes back as a follower without stale data).
 */
@Tag("e2e")
@Timeout(value = 6, unit = TimeUnit.MINUTES)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FileSpaceFaultsIT {

    @RegisterExtension
    static final LocalClusterFixture cluster = LocalClusterFixture.perClass(3);

    static Path host;

    @BeforeAll
    static void setUp() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "the file space of a local cluster needs root");
        // the nodes share the host's /tmp: reference copies live here, compared through the tree
        host = Files.createTempDirectory(Path.of("/tmp"), "gst-files-faults-");
    }

    @AfterAll
    static void tearDown() throws Exception {
        if (host != null) {
            try (var s = Files.walk(host)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static Cli.Result on(int node, String script) {
        return on(node, script, Duration.ofSeconds(120));
    }

    private static Cli.Result on(int node, String script, Duration timeout) {
        return cluster.cli(node).withCwd(Path.of("/tmp")).call("run", "-n", "node" + node, "--", "sh", "-c", script)
            .timeout(timeout).run();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> status(int node) {
        var r = cluster.cli(node).run("fs", "status", "--json");
        assertEquals(0, r.exitCode(), r::describe);
        return (Map<String, Object>) TinyJson.parse(r.out());
    }

    private static int index(String node) {
        return Integer.parseInt(node.substring(4));
    }

    @Test
    @Order(1)
    void awkwardNamesManyEntriesAndAHugeSparseFileReadTheSameOnAnotherNode() {
        String longName = "n".repeat(255);
        var w = on(1, "set -e; mkdir -p /gestalt/names && cd /gestalt/names; "
            + "echo a > 'with space'; echo b > \"$(printf 'new\\nline')\"; echo c > 'héllo-世界-🙂'; echo d > " + longName + "; "
            + "if echo e > " + longName + "x 2>/dev/null; then echo 'a 256-byte name was accepted'; exit 9; fi; "
            + "mkdir /gestalt/many && cd /gestalt/many && i=0; while [ $i -lt 10000 ]; do : > f$i; i=$((i+1)); done; "
            + "truncate -s 5G /gestalt/sparse && printf end | dd of=/gestalt/sparse bs=1 seek=5368709117 conv=notrunc 2>/dev/null");
        assertEquals(0, w.exitCode(), w::describe);
        var r = on(3, "cd /gestalt/names && cat 'with space' \"$(printf 'new\\nline')\" 'héllo-世界-🙂' " + longName
            + " && ls /gestalt/many | wc -l && stat -c %s /gestalt/sparse && tail -c 3 /gestalt/sparse && echo "
            + "&& mfsfileinfo /gestalt/sparse | grep -c 'copy 1:'");
        assertEquals(0, r.exitCode(), r::describe);
        String[] lines = r.out().split("\n");
        assertEquals(List.of("a", "b", "c", "d", "10000", "5368709120", "end"), List.of(lines).subList(0, 7), r::describe);
        assertEquals("1", lines[7].strip(), "of the 5 GiB file's 80 chunks only the written one exists: " + r.out());
    }

    @Test
    @Order(2)
    void aFullChunkserverDiskGivesAnErrorOrPlacesTheDataElsewhereNeverAHang() {
        // node3's chunkserver gets a 64 MiB disk (a tmpfs inside node3's mount namespace), then restarts on it
        String chunks = cluster.dir().resolve("node3/state/files/chunks").toString();
        long pid = cluster.pid(3);
        var mnt = dev.gestalt.testkit.Procs.exec(30, "nsenter", "-t", Long.toString(pid), "-m", "--",
            "sh", "-c", "mount -t tmpfs -o size=64m gst-small " + chunks + " && chown mfs:mfs " + chunks
                + " && pkill -f '[m]fschunkserver -f -c " + cluster.dir().resolve("node3") + "'");
        assertEquals(0, mnt.exitCode(), mnt.stderr());
        try {
            long t0 = System.nanoTime();
            var w = on(1, "head -c 300000000 /dev/urandom > /tmp/gst-big.$$ && cp /tmp/gst-big.$$ /gestalt/big; rc=$?; "
                + "if [ $rc = 0 ]; then cmp /tmp/gst-big.$$ /gestalt/big && echo same; fi; rm -f /tmp/gst-big.$$; exit $rc",
                Duration.ofSeconds(240));
            double seconds = (System.nanoTime() - t0) / 1e9;
            System.out.printf("FileSpaceFaultsIT: 300 MB with one 64 MiB chunkserver: exit %d after %.1f s%n", w.exitCode(), seconds);
            assertTrue(w.exitCode() == 0 && w.out().contains("same") || w.stderr().contains("No space left"), w::describe);
        } finally {
            // node3's chunkserver back on its own disk, the big file gone at once (not kept in the trash): a full
            // node3 would otherwise be the only place for the next test's lost copies when node2 is its victim
            on(1, "mfssettrashretention 0 /gestalt/big >/dev/null 2>&1; rm -f /gestalt/big");
            var back = dev.gestalt.testkit.Procs.exec(30, "nsenter", "-t", Long.toString(cluster.pid(3)), "-m", "--",
                "sh", "-c", "umount -l " + chunks + " && pkill -f '[m]fschunkserver -f -c " + cluster.dir().resolve("node3") + "'");
            assertEquals(0, back.exitCode(), back.stderr());
        }
    }

    @Test
    @Order(3)
    void aChunkserversHostKilledLeavesEveryFileReadableAndItsCopiesAreRestored() throws Exception {
        String master = (String) status(1).get("master");
        int victim = master.equals("node3") ? 2 : 3;
        int reader = master.equals("node1") ? (victim == 2 ? 3 : 2) : 1;
        byte[] data = new byte[5_000_000];
        new Random(42).nextBytes(data);
        Files.write(host.resolve("copies"), data);
        var w = on(reader, "cp " + host.resolve("copies") + " /gestalt/copies && sync");
        assertEquals(0, w.exitCode(), w::describe);
        Eventually.holds(Duration.ofSeconds(90), "2 copies before the fault",
            () -> on(reader, "mfscheckfile /gestalt/copies").out().contains("2 full copies"));
        int killed = cluster.killHost(victim);
        assertTrue(killed >= 3, "the daemon, its engines and their helpers were killed: " + killed);
        var r = on(reader, "cmp " + host.resolve("copies") + " /gestalt/copies && echo same");
        assertEquals("same\n", r.out(), r::describe);
        // with 2 of 3 chunkservers left, every chunk gets its second copy back on the survivors
        Eventually.holds(Duration.ofSeconds(180), "copies restored on the survivors", () -> {
            var c = on(reader, "mfscheckfile /gestalt/copies");
            return c.out().contains("2 full copies") && !c.out().contains("1 full copies");
        });
        var back = cluster.restart();
        assertEquals(0, back.exitCode(), back::describe);
    }

    @Test
    @Order(4)
    void theMastersHostKilledWhileAnotherNodeWritesLosesNothingClosedAndWritesResumeWithin30s() throws Exception {
        String master = (String) status(1).get("master");
        int m = index(master);
        int writer = m == 1 ? 2 : 1;
        int reader = 6 - m - writer;
        Path src = Files.createDirectories(host.resolve("src"));
        Random rnd = new Random(7);
        for (int i = 0; i < 200; i++) {
            byte[] b = new byte[20_000 + rnd.nextInt(200_000)];
            rnd.nextBytes(b);
            Files.write(src.resolve(Integer.toString(i)), b);
        }
        on(writer, "echo gone > /gestalt/deleted-later");
        Path done = host.resolve("done");
        // a detached writer: copies file i into the tree, and only once cp has closed it records i
        // and when (ms since the epoch)
        var start = cluster.cli(writer).withCwd(Path.of("/tmp")).run("run", "-d", "-n", "node" + writer, "--", "sh", "-c",
            "mkdir -p /gestalt/w; i=0; while [ $i -lt 200 ]; do cp " + src + "/$i /gestalt/w/$i && echo $i $(date +%s%3N) >> "
                + done + "; i=$((i+1)); done");
        assertEquals(0, start.exitCode(), start::describe);
        Eventually.holds(Duration.ofSeconds(60), "the writer has closed 20 files", () -> lines(done) >= 20);
        Thread.sleep(1500); // those 20 a second and more before the kill; it goes on writing meanwhile
        long killedAt = System.nanoTime();
        long killedAtMillis = System.currentTimeMillis();
        cluster.killHost(m);
        double resumed = -1;
        while ((System.nanoTime() - killedAt) / 1e9 < 90) {
            var probe = on(reader, "echo probe > /gestalt/probe && cat /gestalt/probe", Duration.ofSeconds(60));
            if (probe.exitCode() == 0 && probe.out().equals("probe\n")) {
                resumed = (System.nanoTime() - killedAt) / 1e9;
                break;
            }
        }
        System.out.printf("FileSpaceFaultsIT: writes work again %.1f s after the master's host was killed%n", resumed);
        assertTrue(resumed > 0 && resumed < 45, "writes resumed within the target (30 s, 45 s on a loaded machine): " + resumed);
        Map<String, Object> after = status(reader);
        assertNotEquals(master, after.get("master"), after::toString);
        Eventually.holds(Duration.ofSeconds(120), "the writer finishes", () -> lines(done) == 200
            || on(writer, "pgrep -f 'while \\[ \\$i -lt 200' >/dev/null || echo ended").out().contains("ended"));
        // MooseFS's metaloggers follow the master's changelog asynchronously (README, Limits): what
        // was closed in the last moment before the kill may be missing from the promoted copy,
        // which is the tree as it was a moment earlier. Closed a second or more before: all there.
        Map<String, Long> closedAt = new java.util.LinkedHashMap<>();
        for (String line : Files.readAllLines(done)) {
            String[] f = line.split(" ");
            closedAt.put(f[0], Long.parseLong(f[1]));
        }
        List<String> closed = List.copyOf(closedAt.keySet());
        List<String> settled = closed.stream().filter(i -> closedAt.get(i) < killedAtMillis - 1000).toList();
        assertTrue(settled.size() >= 20, "files closed a second or more before the kill: " + settled.size());
        var check = on(reader, "for i in " + String.join(" ", closed) + "; do cmp -s " + src + "/$i /gestalt/w/$i || echo $i; done; echo checked");
        List<String> differ = check.out().lines().filter(l -> !l.equals("checked")).toList();
        System.out.println("FileSpaceFaultsIT: closed files not as written after the promotion: " + differ.stream()
            .map(i -> i + " (closed " + (killedAtMillis - closedAt.get(i)) + " ms before the kill)").toList());
        assertTrue(check.out().endsWith("checked\n"), check::describe);
        assertTrue(differ.stream().noneMatch(settled::contains),
            "every file closed a second or more before the kill is byte-exact on a survivor: " + differ);
        on(reader, "rm /gestalt/deleted-later && echo new > /gestalt/written-while-away");
        var back = cluster.restart();
        assertEquals(0, back.exitCode(), back::describe);
        Map<String, Object> rejoined = status(m);
        assertNotEquals(master, rejoined.get("master"), "the returning node is not master again: " + rejoined);
        var seen = on(m, "cat /gestalt/written-while-away; test -e /gestalt/deleted-later && echo stale; cmp "
            + src + "/" + settled.getLast() + " /gestalt/w/" + settled.getLast() + " && echo same");
        assertEquals("new\nsame\n", seen.out(), seen::describe);
    }

    private static int lines(Path p) {
        try {
            return Files.exists(p) ? Files.readAllLines(p).size() : 0;
        } catch (java.io.IOException e) {
            return 0;
        }
    }
}

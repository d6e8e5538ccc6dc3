package dev.gestalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gestalt.testkit.Eventually;
import dev.gestalt.testkit.LocalClusterFixture;
import dev.gestalt.testkit.Procs;
import dev.gestalt.testkit.TinyJson;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code gestalt migrate}: a running process moves between the nodes of a real root cluster with
 * real CRIU, keeping its GPID, its log and its exit code, with {@code wait}, {@code logs -f},
 * {@code kill} and {@code ps} following it; a move that fails leaves it running where it was.
 */
@Tag("e2e")
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class MigrateIT {

    @RegisterExtension
    static final LocalClusterFixture cluster = LocalClusterFixture.shared(3);

    /** A detached counter on node1: LINES numbered lines 50 ms apart, then exit 7. */
    private static String counter(int lines) {
        var r = cluster.cli(1).run("run", "-d", "-n", "node1", "--", "sh", "-c",
            "i=0; while [ $i -lt " + lines + " ]; do i=$((i+1)); echo line $i; echo err $i >&2; sleep 0.05; done; exit 7");
        assertEquals(0, r.exitCode(), r::describe);
        return r.out().strip();
    }

    private static String numbered(String prefix, int lines) {
        return IntStream.rangeClosed(1, lines).mapToObj(i -> prefix + " " + i + "\n").collect(Collectors.joining());
    }

    /** The GPID of the running process on {@code node} whose command contains {@code marker}. */
    private static String running(String node, String marker) {
        return TinyJson.rows(cluster.cli(2).run("ps", "--json", "-n", node).out()).stream()
            .filter(p -> !"exited".equals(p.get("state")) && String.valueOf(p.get("command")).contains(marker))
            .map(p -> (String) p.get("gpid")).findFirst().orElseThrow(() -> new AssertionError("no " + marker + " on " + node));
    }

    private static Map<String, Object> psRow(String gpid) {
        var ps = cluster.cli(2).run("ps", "--json");
        assertEquals(0, ps.exitCode(), ps::describe);
        return TinyJson.rows(ps.out()).stream().filter(m -> gpid.equals(m.get("gpid"))).findFirst()
            .orElseThrow(() -> new AssertionError(gpid + " not in ps: " + ps.out()));
    }

    /**
     * Moved node1 -> node2 -> node3 -> node1 while it writes: every line of its log exactly once and
     * in order, followed by a `logs -f` started before the first move; a `wait` started before it
     * gets its code; ps shows where it is and how many times it moved.
     */
    @Test
    void aDetachedProcessMovesThreeTimesAndLosesNothing() {
        int lines = 160;
        String gpid = counter(lines);
        var waiting = cluster.cli(3).start("wait", gpid);
        var follow = cluster.cli(2).start("logs", "-f", gpid);
        Eventually.holds(Duration.ofSeconds(30), "logs -f follows it", () -> follow.stdoutSoFar().contains("line 3\n"));
        int moves = 0;
        // post-copy asked for; then what a small process gets by default: stop-and-copy
        for (String target : List.of("node2", "node3", "node1")) {
            var m = moves == 0 ? cluster.cli(1).run("migrate", "--method", "post-copy", gpid, target)
                : cluster.cli(1 + moves % 3).run("migrate", gpid, target);
            assertEquals(0, m.exitCode(), m::describe);
            assertTrue(m.out().contains("moved " + gpid + " from ") && m.out().contains(" to " + target + " ("
                + (moves == 0 ? "post-copy" : "stop-and-copy") + "): downtime "), m::describe);
            moves++;
            Map<String, Object> row = psRow(gpid);
            assertEquals(target, row.get("node"), row::toString);
            assertEquals(moves, ((Number) row.get("moves")).intValue(), row::toString);
            // it runs (not stopped, not ended); "disk" too: in the kernel for an instant (seen once
            // right after the move, now that the restored copy first runs at the commit)
            assertTrue(List.of("running", "sleeping", "disk").contains(row.get("state")), row::toString);
        }
        var waited = waiting.await(Duration.ofSeconds(60));
        assertEquals(7, waited.exitCode(), "wait started before the moves gets the code: " + waited.describe());
        var followed = follow.await(Duration.ofSeconds(60));
        assertEquals(0, followed.exitCode(), followed::describe);
        assertEquals(numbered("line", lines), followed.out(), "logs -f across three moves");
        assertEquals(numbered("err", lines), followed.stderr(), "logs -f across three moves (stderr)");
        var logs = cluster.cli(3).run("logs", gpid);
        assertEquals(numbered("line", lines), logs.out(), "the whole log, from the node it ended on");
        assertEquals(numbered("err", lines), logs.stderr());
        assertEquals(7, cluster.cli(2).run("wait", gpid).exitCode(), "wait after the end");
    }

    /**
     * A `gestalt attach` client of a detached process follows it to the nodes it moves to: its
     * output from the moment it attached, each line once and in order, then the exit code.
     */
    @Test
    void anAttachClientFollowsItsProcess() {
        int lines = 140;
        String gpid = counter(lines);
        var attach = cluster.cli(3).start("attach", gpid);
        Eventually.holds(Duration.ofSeconds(30), "attached", () -> attach.stdoutSoFar().contains("line "));
        for (String target : List.of("node2", "node3")) {
            var m = cluster.cli(1).run("migrate", gpid, target);
            assertEquals(0, m.exitCode(), m::describe);
            assertTrue(attach.isAlive(), "the attach client stays with it");
        }
        var r = attach.await(Duration.ofSeconds(60));
        assertEquals(7, r.exitCode(), "its code reaches the attach client: " + r.describe());
        List<String> out = r.out().lines().toList();
        int first = Integer.parseInt(out.getFirst().substring("line ".length()));
        assertEquals(numbered("line", lines).lines().skip(first - 1).toList(), out,
            "from where it attached to its end, once each, across two moves");
        assertTrue(first < lines - 40, "it attached before the moves: " + first);
    }

    /** Without NODE, the placement policy picks another node; kill then reaches it there; --json says what happened. */
    @Test
    void movedWhereThePolicySaysAndKilledThere() {
        var r = cluster.cli(2).run("run", "-d", "-n", "node2", "--", "sleep", "300");
        assertEquals(0, r.exitCode(), r::describe);
        String gpid = r.out().strip();
        var m = cluster.cli(2).run("migrate", "--json", gpid);
        assertEquals(0, m.exitCode(), m::describe);
        Map<String, Object> j = TinyJson.rows("[" + m.out().strip() + "]").getFirst();
        assertEquals(Boolean.TRUE, j.get("moved"), j::toString);
        assertEquals("node2", j.get("from"), j::toString);
        assertTrue(List.of("node1", "node3").contains(j.get("to")), j::toString);
        assertTrue(((Number) j.get("bytes")).longValue() > 0, j::toString);
        assertTrue(((Number) j.get("downtime_ms")).longValue() > 0, j::toString);
        assertEquals(j.get("to"), psRow(gpid).get("node"));
        var k = cluster.cli(3).run("kill", gpid);
        assertEquals(0, k.exitCode(), k::describe);
        assertEquals(143, cluster.cli(1).run("wait", gpid).exitCode(), "killed by SIGTERM where it moved");
    }

    /** --check names an established TCP connection; migrate refuses with the same list; the process runs on. */
    @Test
    void anEstablishedConnectionIsNamedAndTheMoveRefused() {
        var r = cluster.cli(1).run("run", "-d", "-n", "node3", "--", "python3", "-c",
            "import socket,time\ns=socket.socket(); s.bind(('127.0.0.1',0)); s.listen()\n"
                + "c=socket.create_connection(s.getsockname()); a,_=s.accept(); print('connected', flush=True); time.sleep(300)");
        assertEquals(0, r.exitCode(), r::describe);
        String gpid = r.out().strip();
        Eventually.holds(Duration.ofSeconds(30), "it connected", () -> cluster.cli(1).run("logs", gpid).out().contains("connected"));
        var check = cluster.cli(2).run("migrate", "--check", gpid, "node1");
        assertEquals(1, check.exitCode(), check::describe);
        assertTrue(check.out().contains(gpid + " cannot move") && check.out().contains("an established TCP connection 127.0.0.1:"),
            check::describe);
        var move = cluster.cli(2).run("migrate", gpid, "node1");
        assertEquals(1, move.exitCode(), move::describe);
        assertTrue(move.stderr().contains("an established TCP connection"), move::describe);
        Map<String, Object> row = psRow(gpid);
        assertEquals("node3", row.get("node"));
        assertFalse("exited".equals(row.get("state")), row::toString);
        assertEquals(0, cluster.cli(1).run("kill", "-9", gpid).exitCode());
    }

    /**
     * A restore that fails on the target (the process holds a file on a mount only node1 has)
     * leaves it running on node1, as it was: the reason is CRIU's, its output goes on in order,
     * and its code arrives.
     */
    @Test
    void aFailedRestoreResumesTheProcessWhereItWas() throws Exception {
        String dir = "/tmp/gst-only-node1-" + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 30), 36);
        java.nio.file.Files.createDirectories(java.nio.file.Path.of(dir));
        String ns = "--mount=/proc/" + cluster.pid(1) + "/ns/mnt";
        try {
            var mount = Procs.exec(30, "nsenter", ns, "--", "mount", "-t", "tmpfs", "-o", "size=1m", "gst-only", dir);
            assertEquals(0, mount.exitCode(), mount.stderr());
            int lines = 80;
            var r = cluster.cli(1).run("run", "-d", "-n", "node1", "--", "sh", "-c", "exec 3>" + dir + "/held; "
                + "i=0; while [ $i -lt " + lines + " ]; do i=$((i+1)); echo line $i; sleep 0.05; done; exit 4");
            assertEquals(0, r.exitCode(), r::describe);
            String gpid = r.out().strip();
            var m = cluster.cli(3).run("migrate", gpid, "node2");
            assertEquals(1, m.exitCode(), m::describe);
            assertTrue(m.stderr().contains("the restore on node2 failed") && m.stderr().contains(gpid + " goes on running on node1"),
                m::describe);
            assertEquals("node1", psRow(gpid).get("node"));
            assertEquals(0, ((Number) psRow(gpid).get("moves")).intValue());
            assertEquals(4, cluster.cli(2).run("wait", gpid).exitCode(), "its code, after the failed move");
            assertEquals(numbered("line", lines), cluster.cli(2).run("logs", gpid).out());

            // attached: its input, paused for the move, flows again to it where it was
            var client = cluster.cli(1).call("run", "-n", "node1", "--", "sh", "-c", "exec 3>" + dir + "/held2; "
                + "while read l; do echo \"got $l\"; done; exit 6").keepStdinOpen().start();
            client.writeStdin("a\n".getBytes());
            Eventually.holds(Duration.ofSeconds(30), "it reads", () -> client.stdoutSoFar().equals("got a\n"));
            String attached = running("node1", "held2");
            var failed = cluster.cli(2).run("migrate", attached, "node2");
            assertEquals(1, failed.exitCode(), failed::describe);
            assertTrue(failed.stderr().contains(attached + " goes on running on node1"), failed::describe);
            client.writeStdin("b\n".getBytes());
            client.closeStdin();
            var end = client.await(Duration.ofSeconds(30));
            assertEquals(6, end.exitCode(), end::describe);
            assertEquals("got a\ngot b\n", end.out(), "its input after the failed move, once");
        } finally {
            Procs.exec(30, "nsenter", ns, "--", "umount", "-l", dir);
            Procs.exec(30, "rmdir", dir);
        }
    }

    /**
     * Issue 11 after a move: the process's view of itself is the same before and after, on the
     * new node: its PID ($$ is 2, its namespace's), /proc/$$/exe its shell, and a new process
     * reading /proc/<its getpid()> finds itself (the job's own /proc moved with it).
     */
    @Test
    void aMovedProcessSeesItselfAsBefore() {
        var r = cluster.cli(1).run("run", "-d", "-n", "node1", "--", "sh", "-c",
            "while :; do echo \"self $$ $(readlink /proc/$$/exe) $(python3 -c 'import os; p = os.getpid(); "
                + "print(open(\"/proc/%d/cmdline\" % p).read().split(chr(0))[1], open(\"/proc/%d/status\" % p).read().count(\"python3\") > 0)')\"; "
                + "sleep 0.2; done");
        assertEquals(0, r.exitCode(), r::describe);
        String gpid = r.out().strip();
        Eventually.holds(Duration.ofSeconds(30), "it reports", () -> cluster.cli(1).run("logs", gpid).out().contains("self"));
        String before = cluster.cli(1).run("logs", gpid).out().lines().filter(l -> l.startsWith("self")).findFirst().orElseThrow();
        var m = cluster.cli(1).run("migrate", gpid, "node3");
        assertEquals(0, m.exitCode(), m::describe);
        int had = (int) cluster.cli(1).run("logs", gpid).out().lines().count();
        Eventually.holds(Duration.ofSeconds(30), "it reports on node3",
            () -> cluster.cli(1).run("logs", gpid).out().lines().count() > had + 2);
        List<String> lines = cluster.cli(1).run("logs", gpid).out().lines().toList();
        assertTrue(before.matches("self 2 /\\S*(dash|sh|bash) -c True"), "before the move: " + before);
        for (String l : lines) {
            assertEquals(before, l, "every report, before and after the move: " + lines);
        }
        assertEquals(0, cluster.cli(1).run("kill", "-9", gpid).exitCode());
    }

    /**
     * An attached process, 2 MB of input streaming into it and its output streaming out, moves
     * node1 -> node2 -> node3 -> node1 under its `run` client: every line of input read once and in
     * order (what waited unread in its pipe, or on its way, follows it), every line of output once
     * and in order, the end of its input reaches it, and the client gets its exit code.
     */
    @Test
    void anAttachedProcessMovesUnderItsClientAndLosesNoByte() {
        byte[] input = numbered("", 300_000).replace(" ", "").getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        var client = cluster.cli(1).call("run", "-n", "node1", "--", "python3", "-c",
            "import sys, time\nn = 0\nfor l in sys.stdin:\n    n += 1\n"
                + "    if int(l) != n: print('out of order:', n, l, flush=True)\n"
                + "    if n % 100 == 0: print('got', n, flush=True); time.sleep(0.01)\n"
                + "print('eof after', n, flush=True)\nsys.exit(5)")
            .stdin(input).timeout(Duration.ofMinutes(4)).start();
        Eventually.holds(Duration.ofSeconds(60), "it reads and writes", () -> client.stdoutSoFar().contains("got 1000\n"));
        String gpid = running("node1", "out of order");
        String[] route = {"node2", "node3", "node1"};
        String[] method = {"post-copy", "stop-and-copy", "post-copy"};
        for (int i = 0; i < route.length; i++) {
            var m = cluster.cli(1 + i).run("migrate", "--method", method[i], gpid, route[i]);
            assertEquals(0, m.exitCode(), m::describe);
            assertTrue(m.out().contains("(" + method[i] + ")"), m::describe);
            assertTrue(client.isAlive(), "its client stays with it");
        }
        assertEquals(3, ((Number) psRow(gpid).get("moves")).intValue());
        var r = client.await(Duration.ofMinutes(3));
        assertEquals(5, r.exitCode(), "its code reaches the client: " + r.stderr());
        List<String> lines = r.out().lines().toList();
        assertEquals(3001, lines.size(), "every line once: " + lines.stream().filter(l -> !l.startsWith("got")).toList());
        for (int i = 0; i < 3000; i++) {
            assertEquals("got " + (i + 1) * 100, lines.get(i), "in order");
        }
        assertEquals("eof after 300000", lines.get(3000), "every byte of input once, then its end");
    }

    /** Ctrl-C (SIGINT to the client) reaches an attached process on the node it moved to. */
    @Test
    void theClientsSignalsFollowTheProcess() {
        var client = cluster.cli(2).start("run", "-n", "node2", "--", "sh", "-c",
            "trap 'echo got INT; exit 42' INT; echo ready; while :; do sleep 0.1; done # follows");
        Eventually.holds(Duration.ofSeconds(30), "it runs", () -> client.stdoutSoFar().equals("ready\n"));
        String gpid = running("node2", "# follows");
        var m = cluster.cli(3).run("migrate", gpid, "node3");
        assertEquals(0, m.exitCode(), m::describe);
        client.signal("INT");
        var r = client.await(Duration.ofSeconds(30));
        assertEquals(42, r.exitCode(), r::describe);
        assertEquals("ready\ngot INT\n", r.out());
    }

    /**
     * Signals sent while the process is frozen for its move are not lost with the frozen copy:
     * they reach it where it runs next, each once (USR1, and TERM, which ends it: 143). 300 MB of
     * memory keep it frozen for a second or more. The program notes every signal its C-level
     * handler sees (Python's wakeup pipe), goes on a second after TERM, and prints them sorted.
     * Not their order: the daemons deliver them in the order sent, a millisecond apart
     * (SignalForwardTest), but when both are pending as the process next runs (it is faulting in
     * its memory on a busy machine), the kernel runs the higher-numbered handler first, as it
     * would after two quick kills on one machine (cc21 and runs here: "term" before "usr1").
     */
    @Test
    void signalsSentWhileFrozenReachItWhereItRunsNext() {
        var r = cluster.cli(1).run("run", "-d", "-n", "node1", "--", "python3", "-c",
            "import os, select, signal, sys, time\nb = bytearray(300 << 20)\nfor i in range(0, len(b), 4096): b[i] = 1\n"
                + "rd, wr = os.pipe()\nos.set_blocking(wr, False)\nsignal.set_wakeup_fd(wr)\n"
                + "signal.signal(signal.SIGUSR1, lambda *a: None)\nsignal.signal(signal.SIGTERM, lambda *a: None)\n"
                + "print('ready', flush=True)\ngot, end = [], None\n"
                + "while end is None or time.time() < end:\n"
                + "    if select.select([rd], [], [], 0.1)[0]:\n        for n in os.read(rd, 64):\n"
                + "            got.append({signal.SIGUSR1: 'usr1', signal.SIGTERM: 'term'}.get(n, str(n)))\n"
                + "            end = time.time() + 1 if n == signal.SIGTERM and end is None else end\n"
                + "print('got', *sorted(got), flush=True)\nsys.exit(143)");
        assertEquals(0, r.exitCode(), r::describe);
        String gpid = r.out().strip();
        Eventually.holds(Duration.ofSeconds(60), "it has its memory", () -> cluster.cli(1).run("logs", gpid).out().equals("ready\n"));
        var move = cluster.cli(2).start("migrate", gpid, "node3");
        Eventually.holds(Duration.ofSeconds(60), "it is frozen and being sent", () -> move.stdoutSoFar().contains(": freeze: "));
        var usr1 = cluster.cli(1).run("kill", "-USR1", gpid);
        var term = cluster.cli(1).run("kill", gpid);
        var moved = move.await(Duration.ofSeconds(120));
        assertEquals(0, moved.exitCode(), moved::describe);
        assertTrue(moved.out().contains("from node1 to node3"), moved::describe);
        assertEquals(0, usr1.exitCode(), "a frozen process takes signals: " + usr1.describe());
        assertEquals(0, term.exitCode(), term::describe);
        var waited = cluster.cli(2).run("wait", gpid);
        assertEquals(143, waited.exitCode(), "TERM, sent while it was frozen, ended it on node3: " + waited.describe());
        assertEquals("ready\ngot term usr1\n", cluster.cli(3).run("logs", gpid).out(), "each caught once, on node3");
        assertEquals("node3", psRow(gpid).get("node"));
    }

    /**
     * A process that checks its memory page by page: PAGES pages, page i holding i % 251; it
     * prints "bad N" (pages that differ) every 0.2 s, or "lost" once the first byte of a page
     * reads 0 (a page that never arrived reads as zeros).
     */
    private static String memoryChecker(String node, int mib) {
        var r = cluster.cli(1).run("run", "-d", "-n", node, "--", "python3", "-c",
            "import time\nn = " + mib + " << 20\nb = bytearray(n)\n"
                + "for i in range(0, n, 4096): b[i] = (i // 4096) % 251 or 251\n"
                + "print('ready', flush=True)\n"
                + "while True:\n"
                + "    bad = sum(1 for i in range(0, n, 4096) if b[i] != ((i // 4096) % 251 or 251))\n"
                + "    print('bad', bad, flush=True)\n"
                + "    time.sleep(0.2)");
        assertEquals(0, r.exitCode(), r::describe);
        String gpid = r.out().strip();
        Eventually.holds(Duration.ofSeconds(60), "it has its memory",
            () -> cluster.cli(1).run("logs", gpid).out().startsWith("ready\nbad 0\n"));
        return gpid;
    }

    /**
     * Post-copy (the default where both nodes can): it runs on the target at once and its memory
     * follows, every page as it was; stop-and-copy on request; the summary says which, and how
     * much memory was pulled after it ran there.
     */
    @Test
    void postCopyCarriesEveryPageAndStopAndCopyStillWorks() {
        String gpid = memoryChecker("node1", 200);
        var post = cluster.cli(2).run("migrate", "--json", gpid, "node2");
        assertEquals(0, post.exitCode(), post::describe);
        Map<String, Object> j = TinyJson.rows("[" + post.out().strip() + "]").getFirst();
        assertEquals("post-copy", j.get("method"), j::toString);
        assertTrue(((Number) j.get("memory_bytes")).longValue() > 200e6, "its 200 MiB were pulled: " + j);
        assertTrue(((Number) j.get("bytes")).longValue() >= ((Number) j.get("memory_bytes")).longValue(), j::toString);
        var copy = cluster.cli(3).run("migrate", "--method", "stop-and-copy", gpid, "node3");
        assertEquals(0, copy.exitCode(), copy::describe);
        assertTrue(copy.out().contains("to node3 (stop-and-copy): downtime "), copy::describe);
        // its 200 MiB went straight from CRIU's dump to node3's CRIU page server, not through the daemons
        assertTrue(copy.out().contains("went to node3's page server") && copy.out().matches("(?s).*its memory, 2\\d\\d\\.\\d MB, during the freeze.*"),
            copy::describe);
        assertTrue(cluster.cli(1).run("migrate", gpid, "node1").out().contains("(post-copy)"));
        int before = cluster.cli(1).run("logs", gpid).out().split("\n").length;
        Eventually.holds(Duration.ofSeconds(60), "it checked its memory again after the moves",
            () -> cluster.cli(1).run("logs", gpid).out().split("\n").length > before + 3);
        String log = cluster.cli(2).run("logs", gpid).out();
        assertTrue(log.lines().skip(1).allMatch("bad 0"::equals), "every page as it was, on every node: " + log);
        assertEquals("node1", psRow(gpid).get("node"));
        assertEquals(3, ((Number) psRow(gpid).get("moves")).intValue());
        assertEquals(0, cluster.cli(1).run("kill", "-9", gpid).exitCode());
    }

    /**
     * Post-copy's one risk: the source's page server goes before all the memory arrived. The
     * process must never run on with pages that read as zeros: it is killed, and migrate says
     * so (or, if all had arrived before the page server went, it runs on whole).
     */
    @Test
    void aPageServerLostMidwayNeverLeavesAProcessWithHolesInItsMemory() throws Exception {
        String gpid = memoryChecker("node2", 800);
        var move = cluster.cli(1).start("migrate", gpid, "node3");
        Eventually.holds(Duration.ofSeconds(120), "it runs on node3, its memory on its way",
            () -> move.stdoutSoFar().contains(": restore: running on node3"));
        var kill = new ProcessBuilder("pkill", "-9", "-f", "criu dump -t [0-9]+ -D \\S*/out-" + gpid + "-").start(); // its page server
        kill.waitFor();
        var moved = move.await(Duration.ofSeconds(120));
        if (moved.exitCode() == 0) { // every page had arrived before the kill: it must be whole
            String log = cluster.cli(2).run("logs", gpid).out();
            assertTrue(log.lines().skip(1).allMatch("bad 0"::equals), log);
            assertEquals(0, cluster.cli(1).run("kill", "-9", gpid).exitCode());
            System.err.println("aPageServerLostMidway: all pages had arrived before the page server was killed");
            return;
        }
        assertEquals(1, moved.exitCode(), moved::describe);
        assertTrue(moved.stderr().contains("it was killed there"), moved::describe);
        var waited = cluster.cli(1).run("wait", gpid);
        // SIGKILL from its node, or SIGSEGV from the kernel when it touched a page that could not come
        assertTrue(List.of(137, 139).contains(waited.exitCode()), "killed, not left running with holes: " + waited.describe());
        String log = cluster.cli(2).run("logs", gpid).out();
        assertTrue(log.lines().skip(1).allMatch("bad 0"::equals), "no check ever saw a missing page: " + log);
        assertTrue(cluster.cli(1).run("events", "--json").out().contains("move failed"));
    }

    @Test
    void badRequestsSayWhyAndMoveNothing() {
        var usage = cluster.cli(1).run("migrate");
        assertEquals(2, usage.exitCode(), usage::describe);
        assertTrue(usage.stderr().contains("missing GPID"), usage::describe);
        var method = cluster.cli(1).run("migrate", "--method", "fast", "1-1");
        assertEquals(2, method.exitCode(), method::describe);
        assertTrue(method.stderr().contains("--method is post-copy or stop-and-copy, not 'fast'"), method::describe);
        var r = cluster.cli(1).run("run", "-d", "-n", "node1", "--", "sleep", "300");
        String gpid = r.out().strip();
        var noNode = cluster.cli(1).run("migrate", gpid, "node9");
        assertEquals(1, noNode.exitCode(), noNode::describe);
        assertTrue(noNode.stderr().contains("no node node9"), noNode::describe);
        var same = cluster.cli(1).run("migrate", gpid, "node1");
        assertEquals(1, same.exitCode(), same::describe);
        assertTrue(same.stderr().contains("runs on node1 already"), same::describe);
        var pinned = cluster.cli(1).run("run", "-d", "--no-migrate", "-n", "node1", "--", "sleep", "300");
        assertEquals(0, pinned.exitCode(), pinned::describe);
        var refused = cluster.cli(1).run("migrate", pinned.out().strip(), "node2");
        assertEquals(1, refused.exitCode(), refused::describe);
        assertTrue(refused.stderr().contains("was started with --no-migrate"), refused::describe);
        assertEquals("node1", psRow(pinned.out().strip()).get("node"));
        assertEquals(0, cluster.cli(1).run("kill", "-9", pinned.out().strip()).exitCode());
        var unknown = cluster.cli(1).run("migrate", "1-987654321");
        assertEquals(1, unknown.exitCode(), unknown::describe);
        assertTrue(unknown.stderr().contains("no such process"), unknown::describe);
        assertEquals(0, cluster.cli(1).run("kill", "-9", gpid).exitCode());
        assertEquals(137, cluster.cli(1).run("wait", gpid).exitCode());
        var ended = cluster.cli(1).run("migrate", gpid, "node2");
        assertEquals(1, ended.exitCode(), ended::describe);
        assertTrue(ended.stderr().contains("has exited"), ended::describe);
    }
}

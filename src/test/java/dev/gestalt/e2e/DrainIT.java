package dev.gestalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.gestalt.os.TestUser;
import dev.gestalt.testkit.Cli;
import dev.gestalt.testkit.Eventually;
import dev.gestalt.testkit.LocalClusterFixture;
import dev.gestalt.testkit.TinyJson;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

/**
 * {@code gestalt drain NODE} empties a node for its upgrade: what can move moves (and finishes
 * elsewhere with its output and code), what cannot is listed and runs on until {@code --force}
 * kills it; nothing new lands there, pinned or placed, started or moved, even after the node's
 * daemon restarts, until {@code undrain}. Root only. {@code gestalt events} tells it all.
 */
@Tag("e2e")
@Timeout(value = 6, unit = TimeUnit.MINUTES)
@Execution(ExecutionMode.CONCURRENT) // beside the other classes, on a cluster of its own (pom.xml: failsafe)
class DrainIT {

    @RegisterExtension
    static final LocalClusterFixture cluster = LocalClusterFixture.perClass(3);

    @BeforeAll
    static void root() {
        assumeTrue("root".equals(System.getProperty("user.name")), "processes move only when the daemons run as root");
    }

    private static Cli cli(int node) {
        return cluster.cli(node).withCwd(Path.of("/tmp"));
    }

    private static String detached(String... command) {
        var args = new java.util.ArrayList<>(List.of("run", "-d", "-n", "node3", "--"));
        args.addAll(List.of(command));
        var r = cli(1).run(args.toArray(String[]::new));
        assertEquals(0, r.exitCode(), r::describe);
        return r.out().strip();
    }

    private static String stateOf(int asker, String node) {
        var r = cli(asker).run("nodes", "--json");
        return TinyJson.rows(r.out()).stream().filter(n -> node.equals(n.get("name")))
            .map(n -> String.valueOf(n.get("state"))).findFirst().orElse("absent");
    }

    @Test
    void drainMovesWhatCanListsWhatCannotAndNodeTakesNothingNewUntilUndrain() throws Exception {
        String counter = detached("sh", "-c", "i=0; while [ $i -lt 200 ]; do i=$((i+1)); echo line $i; sleep 0.05; done; exit 7");
        // an established TCP connection (to itself): CRIU cannot carry it
        String connected = detached("python3", "-c", "import socket, time\ns = socket.socket(); s.bind(('127.0.0.1', 0)); "
            + "s.listen()\nc = socket.create_connection(s.getsockname()); a = s.accept(); print('connected', flush=True)\n"
            + "time.sleep(600)");
        // attached, under its client: it moves with it
        var attached = cli(2).start("run", "-n", "node3", "--", "sh", "-c",
            "trap 'echo got TERM; exit 43' TERM; echo ready; while :; do sleep 0.1; done");
        var pinned = cli(2).start("run", "--no-migrate", "-n", "node3", "--", "sleep", "600");
        Eventually.holds(Duration.ofSeconds(30), "all four run on node3", () ->
            cli(1).run("ps", "-n", "node3").out().lines().count() == 5
                && cli(1).run("logs", connected).out().contains("connected") && attached.stdoutSoFar().equals("ready\n"));

        try (TestUser user = TestUser.create()) {
            var denied = cli(1).withEnv("HOME", "/tmp").withPrefix("setpriv", "--reuid=" + user.info.uid(),
                "--regid=" + user.info.gid(), "--init-groups").run("drain", "node3");
            assertEquals(1, denied.exitCode(), denied::describe);
            assertTrue(denied.stderr().contains("only root may drain a node"), denied::describe);
            assertEquals("up", stateOf(1, "node3"), "a refused drain changed nothing");
        }

        var drain = cli(1).run("drain", "node3");
        assertEquals(1, drain.exitCode(), "two processes cannot move: " + drain.describe());
        assertTrue(drain.out().contains("node3 is draining now"), drain::describe);
        assertTrue(drain.out().matches("(?s).*moved " + counter + " to node[12] \\(downtime \\d+ ms\\).*"), drain::describe);
        assertEquals(2, drain.out().lines().filter(l -> l.startsWith("moved ")).count(), "the attached one too: " + drain.describe());
        assertTrue(drain.out().contains(connected + " cannot move:\n  an established TCP connection 127.0.0.1:"), drain::describe);
        assertTrue(drain.out().matches("(?s).*\\S+ cannot move:\n  \\S+ was started with --no-migrate.*"), drain::describe);
        assertTrue(drain.stderr().contains("2 processes still run on node3"), drain::describe);
        assertTrue(pinned.isAlive(), "what cannot move runs on without --force");
        assertTrue(attached.isAlive(), "the attached one runs on, elsewhere, under its client");

        for (int n = 1; n <= 3; n++) {
            int asker = n;
            Eventually.holds(Duration.ofSeconds(15), "node" + n + " sees node3 draining",
                () -> stateOf(asker, "node3").equals("draining"));
        }
        var refused = cli(2).run("run", "-n", "node3", "--", "true");
        assertEquals(255, refused.exitCode(), refused::describe);
        assertTrue(refused.stderr().contains("node3 is draining: it takes no new processes (gestalt undrain node3)"),
            refused::describe);
        for (int i = 0; i < 6; i++) {
            var placed = cli(1 + i % 3).run("run", "--", "printenv", "GESTALT_NODE");
            assertEquals(0, placed.exitCode(), placed::describe);
            assertFalse(placed.out().contains("node3"), "placed on a draining node: " + placed.describe());
        }
        var back = cli(1).run("migrate", counter, "node3");
        assertEquals(1, back.exitCode(), back::describe);
        assertTrue(back.stderr().contains("node3 is draining"), back::describe);

        var waited = cli(3).run("wait", counter);
        assertEquals(7, waited.exitCode(), "the moved process ends elsewhere with its code: " + waited.describe());
        List<String> lines = cli(3).run("logs", counter).out().lines().toList();
        assertEquals(200, lines.size(), "its whole output");
        for (int i = 0; i < lines.size(); i++) {
            assertEquals("line " + (i + 1), lines.get(i), "every line once, in order");
        }

        var force = cli(2).run("drain", "--force", "--json", "node3");
        assertEquals(0, force.exitCode(), force::describe);
        @SuppressWarnings("unchecked")
        Map<String, Object> f = (Map<String, Object>) TinyJson.parse(force.out());
        assertEquals(true, f.get("was_draining"), force::describe);
        assertEquals(2, ((List<?>) f.get("killed")).size(), force::describe);
        assertTrue(((List<?>) f.get("killed")).contains(connected), force::describe);
        assertEquals(137, pinned.await(Duration.ofSeconds(30)).exitCode(), "its client learns its end (SIGKILL)");
        attached.signal("TERM");
        var ended = attached.await(Duration.ofSeconds(30));
        assertEquals(43, ended.exitCode(), "the moved one's client reaches it where it went: " + ended.describe());
        assertEquals("ready\ngot TERM\n", ended.out());
        var left = TinyJson.rows(cli(1).run("ps", "--json", "-n", "node3").out()).stream()
            .filter(p -> !"exited".equals(p.get("state"))).toList();
        assertEquals(List.of(), left, "nothing runs on node3 (the killed detached job is listed as exited, as ever)");

        // the drain outlives a restart of node3's daemon (an upgrade): it comes back draining
        cluster.stop(3);
        var up = cluster.restart();
        assertEquals(0, up.exitCode(), "cluster up counts a draining node as up: " + up.describe());
        Eventually.holds(Duration.ofSeconds(15), "node1 sees node3 back, draining", () -> stateOf(1, "node3").equals("draining"));
        assertEquals(255, cli(1).run("run", "-n", "node3", "--", "true").exitCode(), "still draining after the restart");

        var follow = cli(2).start("events", "-f", "--json");
        Eventually.holds(Duration.ofSeconds(30), "events -f shows what happened so far",
            () -> follow.stdoutSoFar().contains("\"event\":\"drain\""));
        var undrain = cli(1).run("undrain", "node3");
        assertEquals(0, undrain.exitCode(), undrain::describe);
        assertEquals("node3 takes new processes again\n", undrain.out());
        Eventually.holds(Duration.ofSeconds(15), "node2 sees node3 up", () -> stateOf(2, "node3").equals("up"));
        var again = cli(2).run("run", "-n", "node3", "--", "printenv", "GESTALT_NODE");
        assertEquals("node3\n", again.out(), again::describe);
        Eventually.holds(Duration.ofSeconds(30), "events -f shows the undrain as it comes",
            () -> follow.stdoutSoFar().contains("\"event\":\"undrain\""));
        follow.signal("INT");
        assertEquals(130, follow.await(Duration.ofSeconds(30)).exitCode(), "Ctrl-C ends events -f");
        var events = TinyJson.rows(cli(3).run("events", "--json").out());
        List<String> kinds = events.stream().map(e -> e.get("event") + " " + e.get("gpid")).toList();
        assertTrue(kinds.contains("drain "), kinds::toString);
        assertTrue(kinds.contains("moved " + counter), kinds::toString);
        assertTrue(kinds.contains("not moved " + connected), kinds::toString);
        assertTrue(kinds.contains("undrain "), kinds::toString);
        assertTrue(events.stream().anyMatch(e -> ("moved " + counter).equals(e.get("event") + " " + e.get("gpid"))
            && String.valueOf(e.get("detail")).matches("node3 -> node[12]: downtime \\d+ ms, .* \\(gestalt drain node3\\)")),
            "where, how long, and why: " + events);
        var table = cli(1).run("events");
        assertEquals(0, table.exitCode(), table::describe);
        assertTrue(table.out().startsWith("TIME "), table::describe);
        assertTrue(table.out().contains("  node3       drain         -         node3 takes no new processes"), table::describe);
        var twice = cli(1).run("undrain", "node3");
        assertEquals("node3 was not draining\n", twice.out(), twice::describe);
        var nobody = cli(1).run("drain", "node9");
        assertEquals(1, nobody.exitCode(), nobody::describe);
        assertEquals("gestalt: no node node9 in the cluster (see gestalt nodes)\n", nobody.stderr());
        assertEquals(2, cli(1).run("drain").exitCode(), "usage");
    }
}

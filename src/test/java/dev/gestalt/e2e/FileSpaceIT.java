package dev.gestalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.gestalt.testkit.Cli;
import dev.gestalt.testkit.Eventually;
import dev.gestalt.testkit.LocalClusterFixture;
import dev.gestalt.testkit.Procs;
import dev.gestalt.testkit.TinyJson;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
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
 * The file space of a root local cluster, through the CLI: one tree at /gestalt on every node
 * and nowhere on the host; files carried between nodes only by MooseFS; 2 copies; fs status;
 * per-user permissions on every node; a node stopped, crashed and restarted.
 * Root only (namespaces, MooseFS); anywhere else it is reported as skipped.
 */
@Tag("e2e")
@Timeout(value = 4, unit = TimeUnit.MINUTES)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FileSpaceIT {

    @RegisterExtension
    static final LocalClusterFixture cluster = LocalClusterFixture.perClass(3);

    static String alice;
    static String bob;

    @BeforeAll
    static void rootWithMooseFs() {
        assumeTrue("root".equals(System.getProperty("user.name")), "the file space of a local cluster needs root");
        String tag = Integer.toString(ThreadLocalRandom.current().nextInt(1 << 20), 36);
        alice = "gsfa" + tag;
        bob = "gsfb" + tag;
        for (String u : List.of(alice, bob)) {
            var add = Procs.exec(30, "useradd", "--no-create-home", "--user-group", "--shell", "/bin/sh", u);
            assertEquals(0, add.exitCode(), add.stderr());
        }
    }

    @AfterAll
    static void deleteUsers() {
        for (String u : new String[] {alice, bob}) {
            if (u != null) {
                Procs.exec(30, "userdel", u);
                Procs.exec(30, "groupdel", u);
            }
        }
    }

    private static Cli cli(int node) {
        return cluster.cli(node).withCwd(Path.of("/tmp"));
    }

    private static Cli.Result on(int node, String... command) {
        String[] args = new String[command.length + 4];
        args[0] = "run";
        args[1] = "-n";
        args[2] = "node" + node;
        args[3] = "--";
        System.arraycopy(command, 0, args, 4, command.length);
        return cli(1).run(args);
    }

    /** A command run on a node as a user (the CLI itself runs as that user, so the node runs the job as them). */
    private static Cli.Result as(String user, int node, String script) {
        int uid = Integer.parseInt(Procs.exec(10, "id", "-u", user).stdout().strip());
        int gid = Integer.parseInt(Procs.exec(10, "id", "-g", user).stdout().strip());
        return cli(1).withEnv("HOME", "/tmp").withEnv("USER", user).withEnv("LOGNAME", user)
            .withPrefix("setpriv", "--reuid=" + uid, "--regid=" + gid, "--init-groups")
            .run("run", "-n", "node" + node, "--", "sh", "-c", script);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> status(int node) {
        var r = cli(node).run("fs", "status", "--json");
        assertEquals(0, r.exitCode(), r::describe);
        return (Map<String, Object>) TinyJson.parse(r.out());
    }

    @Test
    @Order(1)
    void theTreeIsOnEveryNodeAndNowhereOnTheHost() {
        assertFalse(Files.exists(Path.of("/gestalt")), "the host's own view has no /gestalt");
        for (int i = 1; i <= 3; i++) {
            var t = on(i, "stat", "-f", "-c", "%T", "/gestalt");
            assertEquals(0, t.exitCode(), t::describe);
            assertTrue(t.out().startsWith("fuse"), "node" + i + " has a FUSE mount at /gestalt: " + t.out());
        }
        String name = "carried-" + System.nanoTime();
        var w = on(1, "sh", "-c", "printf 'from node1\\n' > /gestalt/" + name + "; ls /tmp > /dev/null");
        assertEquals(0, w.exitCode(), w::describe);
        for (int i = 2; i <= 3; i++) {
            var r = on(i, "cat", "/gestalt/" + name);
            assertEquals("from node1\n", r.out(), r::describe);
        }
        // a file in a node's own folders stays there: the nodes share the host's disk, not the tree
        var local = on(2, "sh", "-c", "test -e /gestalt/.. && ls -d /gestalt");
        assertEquals(0, local.exitCode(), local::describe);
    }

    @Test
    @Order(2)
    void statusShowsTheMasterTwoMetaloggersAndEveryNodeMounted() {
        Eventually.holds(Duration.ofSeconds(60), "fs status says ok", () -> "ok".equals(status(2).get("health")));
        Map<String, Object> st = status(2);
        assertEquals("moosefs", st.get("engine"));
        assertEquals("/gestalt", st.get("mount"));
        assertEquals(2L, ((Number) st.get("copies")).longValue());
        String master = (String) st.get("master");
        List<?> metaloggers = (List<?>) st.get("metaloggers");
        assertEquals(2, metaloggers.size(), st::toString);
        assertFalse(metaloggers.contains(master), st::toString);
        List<?> nodes = (List<?>) st.get("nodes");
        assertEquals(3, nodes.size());
        for (Object o : nodes) {
            Map<?, ?> n = (Map<?, ?>) o;
            assertEquals(Boolean.TRUE, n.get("mounted"), st::toString);
            assertTrue(((List<?>) n.get("roles")).contains("chunkserver"), st::toString);
            assertTrue(((Number) n.get("total_bytes")).longValue() > 0, st::toString);
        }
        var table = cli(3).run("fs", "status");
        assertTrue(table.out().contains("master:  " + master), table::describe);
    }

    @Test
    @Order(3)
    void everyChunkIsKeptTwice() {
        var w = on(3, "sh", "-c", "head -c 3000000 /dev/urandom > /gestalt/twice && sync");
        assertEquals(0, w.exitCode(), w::describe);
        Eventually.holds(Duration.ofSeconds(90), "the chunk of /gestalt/twice has 2 copies", () -> {
            var r = on(1, "mfscheckfile", "/gestalt/twice");
            return r.out().contains("2 full copies");
        });
    }

    @Test
    @Order(4)
    void anotherUsersPrivateFileIsClosedOnEveryNode() {
        var mk = on(1, "sh", "-c", "mkdir -p /gestalt/home/" + alice + " && chown " + alice + " /gestalt/home/" + alice
            + " && chmod 755 /gestalt/home/" + alice);
        assertEquals(0, mk.exitCode(), mk::describe);
        var w = as(alice, 1, "umask 077; echo secret > /gestalt/home/" + alice + "/private; stat -c %a /gestalt/home/" + alice + "/private");
        assertEquals("600\n", w.out(), w::describe);
        for (int i = 1; i <= 3; i++) {
            var read = as(bob, i, "cat /gestalt/home/" + alice + "/private");
            assertNotEquals(0, read.exitCode(), read::describe);
            assertTrue(read.stderr().contains("Permission denied"), read::describe);
            var write = as(bob, i, "echo bob >> /gestalt/home/" + alice + "/private");
            assertNotEquals(0, write.exitCode(), write::describe);
            var own = as(alice, i, "cat /gestalt/home/" + alice + "/private");
            assertEquals("secret\n", own.out(), own::describe);
        }
        // the root of the tree is like /tmp: bob may create, but not remove alice's entries
        var rm = as(bob, 2, "rm -rf /gestalt/home");
        assertNotEquals(0, rm.exitCode(), rm::describe);
        assertEquals("secret\n", as(alice, 3, "cat /gestalt/home/" + alice + "/private").out());
    }

    @Test
    @Order(5)
    void aStoppedNodeUnmountsAndMountsAgainWhenItRestarts() {
        var w = on(2, "sh", "-c", "echo kept > /gestalt/kept");
        assertEquals(0, w.exitCode(), w::describe);
        cluster.stop(3);
        var again = cluster.restart();
        assertEquals(0, again.exitCode(), again::describe);
        assertEquals("kept\n", on(3, "cat", "/gestalt/kept").out());
    }

    @Test
    @Order(6)
    void aCrashedDaemonsLeftoversAreCleanedAtTheNextStart() {
        long before = mountPid(3);
        cluster.kill9(3);
        assertTrue(Procs.alive(before), "the crashed daemon's mfsmount is left running");
        var again = cluster.restart();
        assertEquals(0, again.exitCode(), again::describe);
        Eventually.holds(Duration.ofSeconds(30), "the old mfsmount was stopped", () -> !Procs.alive(before));
        Eventually.holds(Duration.ofSeconds(30), "a new mfsmount runs", () -> mountPid(3) > 0 && mountPid(3) != before
            && Procs.alive(mountPid(3)));
        Eventually.holds(Duration.ofSeconds(30), "node3 reads the tree again", () -> on(3, "cat", "/gestalt/kept").out().equals("kept\n"));
    }

    private static long mountPid(int node) {
        Path pid = cluster.dir().resolve("node" + node).resolve("state/files/run/mfsmount.pid");
        try {
            return Long.parseLong(Files.readString(pid).strip());
        } catch (java.io.IOException | NumberFormatException e) {
            return -1;
        }
    }
}

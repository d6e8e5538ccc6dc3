package dev.gestalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.gestalt.os.TestUser;
import dev.gestalt.testkit.Cli;
import dev.gestalt.testkit.LocalClusterFixture;
import dev.gestalt.testkit.Procs;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A node run by a normal user (CI runs as root: the user is made with useradd) serves that user
 * alone: the user's programs run as the user; root, who can open any socket, is refused by the
 * node's uid check; another user is refused by the socket's mode (0600).
 */
@Tag("e2e")
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class UserNodeIT {

    static TestUser owner;
    static TestUser other;
    static LocalClusterFixture cluster;

    @BeforeAll
    static void startAsAUser() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "creating users needs root");
        owner = TestUser.create();
        other = TestUser.create();
        cluster = LocalClusterFixture.startAs(1, owner.name);
    }

    @AfterAll
    static void stop() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
        for (TestUser u : new TestUser[] {owner, other}) {
            if (u != null) {
                Procs.exec(10, "pkill", "-KILL", "-u", u.name);
                u.close();
            }
        }
    }

    /** root's CLI, with the user's node named by its socket. */
    private static Cli root() {
        return Cli.of(Cli.repoLauncher()).withEnv("GESTALT_NODE", cluster.socket(1).toString()).withCwd(Path.of("/tmp"));
    }

    @Test
    void theNodeRunsItsUsersProgramsAsTheUser() {
        int uid = owner.info.uid();
        for (Cli c : new Cli[] {cluster.cli(1), cluster.cli(1).withEnv("GESTALT_JVM_CLIENT", "1")}) {
            var r = c.withCwd(Path.of("/tmp")).run("run", "--", "id", "-u");
            assertEquals(0, r.exitCode(), r::describe);
            assertEquals(uid + "\n", r.out());
        }
        var ps = cluster.cli(1).run("nodes");
        assertEquals(0, ps.exitCode(), ps::describe);
    }

    /** CRIU needs root: a node run by a user says it cannot move processes, and why. */
    @Test
    void aUsersNodeSaysItCannotMoveProcessesAndWhy() {
        String why = "the node runs as " + owner.name + ", not root: CRIU needs root";
        dev.gestalt.testkit.Eventually.holds(java.time.Duration.ofSeconds(30), "the node has checked", () -> {
            var r = cluster.cli(1).run("nodes", "--json");
            return r.exitCode() == 0 && r.out().contains("\"migration\":\"" + why + "\"");
        });
        var r = cluster.cli(1).run("nodes", "--json");
        assertTrue(r.out().contains("\"migratable\":false"), r::describe);
        var table = cluster.cli(1).run("nodes");
        assertEquals(0, table.exitCode(), table::describe);
        assertTrue(table.out().lines().skip(1).findFirst().orElse("").matches(".*\\bno\\b.*"), table::describe);
        assertTrue(table.out().contains("node1 cannot move processes: " + why + "\n"), table::describe);
    }

    @Test
    void rootIsRefusedByTheNodesUidCheck() {
        var r = root().run("run", "--", "id", "-u");
        assertEquals(255, r.exitCode(), r::describe);
        assertEquals("", r.out());
        assertTrue(r.stderr().contains("permission denied") && r.stderr().contains("serves only that user"), r::describe);
        var ps = root().run("ps");
        assertEquals(1, ps.exitCode(), ps::describe);
        assertTrue(ps.stderr().contains("permission denied"), ps::describe);
    }

    @Test
    void anotherUserIsRefusedBySocketMode() {
        Cli asOther = root().withEnv("HOME", "/tmp").withEnv("USER", other.name).withEnv("LOGNAME", other.name)
            .withPrefix("setpriv", "--reuid=" + other.name, "--regid=" + other.name, "--init-groups");
        var r = asOther.run("run", "--", "id", "-u");
        assertEquals(255, r.exitCode(), r::describe);
        assertEquals("", r.out());
        assertTrue(r.stderr().contains("cannot reach a Gestalt node") && r.stderr().contains("Permission denied"), r::describe);
    }
}

package dev.gestalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.gestalt.testkit.Cli;
import dev.gestalt.testkit.LocalClusterFixture;
import dev.gestalt.testkit.Procs;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Identity and permissions with a throwaway user (root only). The cluster is
 * run by root; the user's CLI reaches it through GESTALT_NODE (not through
 * /var/lib/gestalt/current: that is the machine cluster, which other work on
 * this machine may be using). The node takes the caller's identity from
 * SO_PEERCRED and runs the program as that user.
 */
@Tag("e2e")
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class PermissionsIT {

    @RegisterExtension
    static final LocalClusterFixture cluster = LocalClusterFixture.shared(3);

    static String user;
    static int uid;
    static int gid;
    static String rootsProcess;

    @BeforeAll
    static void createUser() {
        assumeTrue("root".equals(System.getProperty("user.name")), "creating a user needs root");
        user = "gste2e" + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 20), 36);
        var add = Procs.exec(30, "useradd", "--no-create-home", "--user-group", "--shell", "/bin/sh", user);
        assertEquals(0, add.exitCode(), add.stderr());
        uid = Integer.parseInt(Procs.exec(10, "id", "-u", user).stdout().strip());
        gid = Integer.parseInt(Procs.exec(10, "id", "-g", user).stdout().strip());
        var r = root().run("run", "-d", "-n", "node2", "--", "sleep", "319");
        assertEquals(0, r.exitCode(), r::describe);
        rootsProcess = r.out().strip();
    }

    @AfterAll
    static void deleteUser() {
        if (rootsProcess != null) {
            root().run("kill", "-9", rootsProcess);
        }
        if (user != null) {
            var pids = Procs.exec(10, "pgrep", "-u", user).stdout();
            pids.lines().filter(l -> !l.isBlank()).forEach(p -> ProcessHandle.of(Long.parseLong(p.strip()))
                .ifPresent(ProcessHandle::destroyForcibly));
            Procs.exec(30, "userdel", user);
            Procs.exec(30, "groupdel", user);
        }
    }

    private static Cli root() {
        return cluster.cli(1).withCwd(Path.of("/tmp"));
    }

    /** The CLI run as the test user, by setpriv (which execs the launcher), against node1's socket. */
    private static Cli asUser() {
        return cluster.cli(1).withCwd(Path.of("/tmp")).withEnv("HOME", "/tmp").withEnv("USER", user)
            .withEnv("LOGNAME", user)
            .withPrefix("setpriv", "--reuid=" + uid, "--regid=" + gid, "--init-groups");
    }

    @Test
    void programsRunAsTheCaller() {
        var r = asUser().run("run", "-n", "node3", "--", "sh", "-c", "id -u; id -g; id -un");
        assertEquals(0, r.exitCode(), r::describe);
        assertEquals(uid + "\n" + gid + "\n" + user + "\n", r.out());
    }

    @ParameterizedTest
    @ValueSource(strings = {"kill", "wait", "logs", "attach"})
    void aUserCannotTouchRootsProcess(String command) {
        var r = asUser().run(command, rootsProcess);
        assertEquals(1, r.exitCode(), r::describe);
        assertTrue(r.stderr().contains("permission denied"), r::describe);
        var ps = root().run("ps");
        assertTrue(ps.out().lines().anyMatch(l -> l.startsWith(rootsProcess + " ") && !l.contains("exit")),
            "root's process still runs: " + ps.out());
    }

    @Test
    void aUserWaitsOnTheirOwnAndRootCanKillIt() {
        var own = asUser().run("run", "-d", "--", "sh", "-c", "exit 4");
        assertEquals(0, own.exitCode(), own::describe);
        var waited = asUser().run("wait", own.out().strip());
        assertEquals(4, waited.exitCode(), waited::describe);

        var theirs = asUser().run("run", "-d", "-n", "node3", "--", "sleep", "320");
        assertEquals(0, theirs.exitCode(), theirs::describe);
        String gpid = theirs.out().strip();
        var ps = root().run("ps");
        assertTrue(ps.out().lines().anyMatch(l -> l.startsWith(gpid + " ") && l.contains(" " + user + " ")),
            "ps names the user: " + ps.out());
        var kill = root().run("kill", "-9", gpid);
        assertEquals(0, kill.exitCode(), kill::describe);
        assertEquals(137, root().run("wait", gpid).exitCode());
    }
}

package dev.gestalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gestalt.testkit.Cli;
import dev.gestalt.testkit.Eventually;
import dev.gestalt.testkit.LocalClusterFixture;
import dev.gestalt.testkit.Procs;
import dev.gestalt.testkit.TinyJson;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Every job's record (code, start and end, node, user, command) is kept in its node's state
 * folder: {@code ps --all} lists ended jobs, as sacct does, also after the node restarted, until
 * the node's {@code job_history} has passed; {@code cluster down} names the detached jobs it would
 * end and stops nothing without {@code --force}.
 */
@Tag("e2e")
@Timeout(value = 5, unit = TimeUnit.MINUTES)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class JobHistoryIT {

    @RegisterExtension
    static final LocalClusterFixture cluster = LocalClusterFixture.perClass(2);

    @AfterAll
    static void noLeftovers() {
        Procs.pgrep("^sleep 661$").forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
    }

    private static Cli home() {
        return cluster.cli(1);
    }

    private static Map<String, Object> listed(String gpid, String... psArgs) {
        String[] args = new String[psArgs.length + 2];
        args[0] = "ps";
        System.arraycopy(psArgs, 0, args, 1, psArgs.length);
        args[args.length - 1] = "--json";
        var r = home().run(args);
        assertEquals(0, r.exitCode(), r::describe);
        return TinyJson.rows(r.out()).stream().filter(m -> gpid.equals(m.get("gpid"))).findFirst().orElse(null);
    }

    private static String gpidOf(String command) {
        var r = home().run("ps", "--all", "--json");
        return TinyJson.rows(r.out()).stream().filter(m -> command.equals(m.get("command")))
            .map(m -> (String) m.get("gpid")).findFirst().orElseThrow(() -> new AssertionError(command + " in " + r.out()));
    }

    /** cluster up again; on this loaded machine a node's start can outlast cluster up's own wait: then once more. */
    private static void restart() {
        var up = cluster.restart();
        if (up.exitCode() != 0) {
            up = cluster.restart();
        }
        assertEquals(0, up.exitCode(), up::describe);
    }

    private static String attachedGpid;
    private static String detachedGpid;

    @Test
    @Order(1)
    void endedJobsAreListedWithCodeTimesNodeUserAndCommand() {
        Instant before = Instant.now().minusSeconds(1);
        var attached = home().run("run", "-n", "node2", "--", "sh", "-c", "exit 3");
        assertEquals(3, attached.exitCode(), attached::describe);
        var d = home().run("run", "-d", "-n", "node2", "--", "sh", "-c", "echo kept; exit 5");
        assertEquals(0, d.exitCode(), d::describe);
        detachedGpid = d.out().strip();
        assertEquals(5, home().run("wait", detachedGpid).exitCode());
        attachedGpid = gpidOf("sh -c exit 3");

        assertEquals(null, listed(attachedGpid), "an attached job that ended is not in plain ps");
        Map<String, Object> a = listed(attachedGpid, "--all");
        assertNotNull(a, "ps --all lists it");
        assertEquals("exited", a.get("state"));
        assertEquals(3L, a.get("exit_code"));
        assertEquals("node2", a.get("node"));
        assertEquals(System.getProperty("user.name"), a.get("user"));
        Instant start = Instant.parse((String) a.get("start"));
        Instant end = Instant.parse((String) a.get("end"));
        assertTrue(!start.isBefore(before) && !end.isBefore(start) && !end.isAfter(Instant.now()), a.toString());
        var table = home().run("ps", "--all");
        assertTrue(table.out().lines().anyMatch(l -> l.startsWith(attachedGpid + " ") && l.contains("exit 3")), table::describe);
        assertTrue(table.out().lines().findFirst().orElse("").contains(" END "), "an END column: " + table.out());
    }

    @Test
    @Order(2)
    void theRecordsSurviveARestartOfTheNode() {
        long lastBefore = 0;
        for (int i = 0; i < 3; i++) {
            var g = cluster.cli(2).run("run", "-d", "--", "true");
            assertEquals(0, g.exitCode(), g::describe);
            lastBefore = Long.parseLong(g.out().strip().substring(2));
        }
        cluster.kill9(2);
        restart();
        Map<String, Object> a = Eventually.value(Duration.ofSeconds(60), "the ended job listed after the restart",
            () -> listed(attachedGpid, "--all"));
        assertNotNull(a);
        assertEquals(3L, a.get("exit_code"));
        assertEquals(5, Eventually.value(Duration.ofSeconds(60), "wait answering after the restart", () -> {
            int code = home().run("wait", detachedGpid).exitCode();
            return code == 1 ? null : code; // 1: no such process, while node2 does not answer yet
        }), "wait still knows the detached job's code");
        var logs = home().run("logs", detachedGpid);
        assertEquals("kept\n", logs.out(), logs::describe);
        var after = cluster.cli(2).run("run", "-d", "--", "true");
        assertEquals(0, after.exitCode(), after::describe);
        assertTrue(after.out().startsWith("2-") && Long.parseLong(after.out().strip().substring(2)) > lastBefore,
            "node2 never hands out a GPID twice after a kill -9: " + after.out() + " after 2-" + lastBefore);
    }

    @Test
    @Order(3)
    void recordsAndLogsArePrunedOnceTheNodesHistoryHasPassed() throws Exception {
        var logDir = cluster.dir().resolve("node2").resolve("state").resolve("logs").resolve(detachedGpid);
        assertTrue(Files.isDirectory(logDir), logDir + " exists");
        cluster.stop(2);
        Files.writeString(cluster.config(2), Files.readString(cluster.config(2)).replaceAll("(?m)^job_history = .*$", "job_history = 1s"));
        Thread.sleep(1500);
        restart();
        Eventually.holds(Duration.ofSeconds(30), "the old records are gone from ps --all",
            () -> listed(attachedGpid, "--all") == null && listed(detachedGpid, "--all") == null);
        assertFalse(Files.exists(logDir), "the detached job's logs are gone with its record");
        assertEquals(1, home().run("logs", detachedGpid).exitCode());
    }

    @Test
    @Order(4)
    void clusterDownNamesTheDetachedJobsAndAsksForForce() throws Exception {
        var d = home().run("run", "-d", "-n", "node1", "--", "sleep", "661");
        assertEquals(0, d.exitCode(), d::describe);
        String gpid = d.out().strip();
        var refused = cluster.cli().run("cluster", "down", "--name", cluster.name());
        assertEquals(1, refused.exitCode(), refused::describe);
        assertTrue(refused.stderr().lines().anyMatch(l -> l.startsWith(gpid + " ") && l.contains("sleep 661")), refused::describe);
        assertTrue(refused.stderr().contains("--force"), refused::describe);
        assertFalse(Procs.pgrep("^sleep 661$").isEmpty(), "nothing was stopped");
        var status = cluster.cli().run("cluster", "status", "--name", cluster.name(), "--json");
        assertTrue(TinyJson.rows(status.out()).stream().noneMatch(m -> "stopped".equals(m.get("state"))), status::describe);

        var forced = cluster.cli().run("cluster", "down", "--force", "--name", cluster.name());
        assertEquals(0, forced.exitCode(), forced::describe);
        assertTrue(forced.out().contains(gpid), forced::describe);
        Eventually.holds(Duration.ofSeconds(30), "the detached sleep ended with the cluster", () -> Procs.pgrep("^sleep 661$").isEmpty());
        assertTrue(Files.readString(cluster.log(1)).contains("ending 1 detached jobs: " + gpid + " (sleep 661)"),
            "the stopping node names its detached jobs in its log");
    }
}

package dev.gestalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gestalt.testkit.Cli;
import dev.gestalt.testkit.LocalClusterFixture;
import dev.gestalt.testkit.Procs;
import dev.gestalt.testkit.TestTerminal;
import java.io.IOException;
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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A job sees itself in /proc (issue 11): its getpid() and /proc agree, so programs that read
 * /proc/&lt;getpid()&gt; (the JDK's ProcessHandle, psutil, `readlink /proc/$$/exe`) print through
 * `gestalt run` what they print locally, on the home node and on another one, with pipes, a
 * terminal and detached; and ps, pgrep and top inside a job show the job's own processes, as the
 * README says.
 */
@Tag("e2e")
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class ProcViewIT {

    @RegisterExtension
    static final LocalClusterFixture cluster = LocalClusterFixture.shared(3);

    private static Path dir;

    /**
     * One line per view of itself, none with a pid in it: the JVM's command and whether its pid is
     * /proc/self's, python's /proc/PID/cmdline and status, the shell's exe and a trapped signal.
     */
    private static String probe() {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return String.join("; ",
            java + " " + dir.resolve("SelfView.java"),
            "python3 " + dir.resolve("selfview.py"),
            "echo exe=$(readlink /proc/$$/exe)",
            "trap 'echo trapped USR1' USR1",
            "kill -USR1 $$");
    }

    @BeforeAll
    static void programs() throws IOException {
        dir = Files.createTempDirectory("gestalt-procview");
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.writeString(dir.resolve("SelfView.java"), """
            public class SelfView {
                public static void main(String[] a) throws Exception {
                    var self = ProcessHandle.current();
                    long proc = Long.parseLong(java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc/self")).toString());
                    System.out.println("java command=" + self.info().command().orElse("<none>"));
                    System.out.println("java pid is /proc/self: " + (self.pid() == proc));
                }
            }
            """);
        Files.writeString(dir.resolve("selfview.py"), """
            import os
            pid = os.getpid()
            print("python cmdline=" + open("/proc/%d/cmdline" % pid).read().replace("\\0", " ").strip())
            status = dict(l.split(":", 1) for l in open("/proc/%d/status" % pid) if ":" in l)
            print("python name=" + status["Name"].strip() + " pid in status: " + str(int(status["Pid"]) == pid))
            """);
    }

    private static String local() {
        var r = Procs.exec(60, "sh", "-c", probe());
        assertEquals(0, r.exitCode(), r::toString);
        assertTrue(r.stdout().contains("java pid is /proc/self: true") && r.stdout().contains("trapped USR1"), r::toString);
        return r.stdout();
    }

    @ParameterizedTest(name = "on {0}")
    @ValueSource(strings = {"node1", "node2"})
    void aJobSeesItselfAsALocalProcessDoes(String node) {
        String expected = local();
        var r = cluster.cli(1).run("run", "-n", node, "--", "sh", "-c", probe());
        assertEquals(0, r.exitCode(), r::describe);
        assertEquals(expected, r.out(), r::describe);
    }

    @Test
    void detachedToo() {
        String expected = local();
        var start = cluster.cli(1).run("run", "-d", "-n", "node2", "--", "sh", "-c", probe());
        assertEquals(0, start.exitCode(), start::describe);
        String gpid = start.out().strip();
        assertEquals(0, cluster.cli(1).run("wait", gpid).exitCode());
        var logs = cluster.cli(1).run("logs", gpid);
        assertEquals(expected, logs.out(), logs::describe);
    }

    /**
     * Moved, then checkpointed and restarted on another node, a job still sees itself as a local
     * process does: what it starts after that reads its own /proc (issue 11, after migration
     * and checkpoint/restart).
     */
    @Test
    void afterAMoveAndARestartFromACheckpointToo() throws Exception {
        String expected = local();
        String log = afterAMoveAndARestart("-T", probe() + "; " + INSIDE + "; kill $!");
        assertTrue(log.startsWith(expected + "ps:\n"), "as locally: " + log);
        assertOwnView(log.substring(expected.length()));
    }

    /** The same for a detached job with a terminal: moved, checkpointed and restarted, on a new terminal each time. */
    @Test
    void withATerminalAfterAMoveAndARestartToo() throws Exception {
        String expected = local().replace("\n", "\r\n");
        String log = afterAMoveAndARestart("-t", probe() + "; echo tty=$(tty); echo fd0=$(readlink /proc/self/fd/0)");
        assertTrue(log.contains(expected), "same as locally: " + log);
        var tty = java.util.regex.Pattern.compile("tty=(/dev/pts/\\d+)\r\nfd0=(\\S+)\r\n").matcher(log);
        assertTrue(tty.find() && tty.group(1).equals(tty.group(2)), "the terminal is the job's own: " + log);
    }

    /**
     * Runs {@code script} detached on node2 ({@code terminal}: -t or -T) once it has moved to node3,
     * been checkpointed and restarted on node1; its log.
     */
    private static String afterAMoveAndARestart(String terminal, String script) throws Exception {
        Path flag = dir.resolve("go-" + System.nanoTime());
        var start = cluster.cli(1).run("run", "-d", terminal, "-n", "node2", "--", "sh", "-c",
            "while [ ! -e " + flag + " ]; do sleep 0.1; done; " + script);
        assertEquals(0, start.exitCode(), start::describe);
        String gpid = start.out().strip();
        var moved = cluster.cli(1).run("migrate", gpid, "node3");
        assertEquals(0, moved.exitCode(), moved::describe);
        var taken = cluster.cli(1).run("checkpoint", gpid);
        assertEquals(0, taken.exitCode(), taken::describe);
        assertEquals(137, cluster.cli(1).run("wait", gpid).exitCode(), "stopped by its checkpoint");
        var again = cluster.cli(1).run("restart", "-n", "node1", taken.out().strip());
        assertEquals(0, again.exitCode(), again::describe);
        Files.writeString(flag, "");
        assertEquals(0, cluster.cli(1).run("wait", gpid).exitCode());
        assertEquals(0, cluster.cli(1).run("checkpoints", "rm", taken.out().strip()).exitCode());
        return cluster.cli(1).run("logs", gpid).out();
    }

    @Test
    void withATerminalToo() throws Exception {
        String expected = local().replace("\n", "\r\n");
        try (var t = new TestTerminal(cluster.cli(1), "run", "-t", "-n", "node2", "--", "sh", "-c", probe()
                + "; echo tty=$(tty); echo fd0=$(readlink /proc/self/fd/0)")) {
            assertEquals(0, t.exit(Duration.ofSeconds(60)), t.screen.toString());
            String screen = t.screen.toString();
            assertTrue(screen.contains(expected), "same as locally: " + screen);
            var tty = java.util.regex.Pattern.compile("tty=(/dev/pts/\\d+)\r\nfd0=(\\S+)\r\n").matcher(screen);
            assertTrue(tty.find() && tty.group(1).equals(tty.group(2)), "the terminal is the job's own: " + screen);
        }
    }

    /**
     * ps, pgrep and top in a job, with a sleep of its own in the background (the shell ends it
     * after: `kill $!`).
     */
    private static final String INSIDE = "sleep 391 >/dev/null 2>&1 & until pgrep -x sleep >/dev/null; do sleep 0.1; done; "
        + "echo ps:; ps -e -o pid=,comm=; echo pgrep: $(pgrep -x sleep); top -bn1 | grep '^Tasks'";

    /** What {@link #INSIDE} printed shows the job's own processes only, its init PID 1 and its program PID 2. */
    private static void assertOwnView(String out) {
        List<String> lines = out.lines().toList();
        int from = lines.indexOf("ps:");
        assertTrue(from >= 0, "ps ran: " + out);
        List<String> ps = lines.subList(from + 1, lines.size()).stream().takeWhile(l -> !l.startsWith("pgrep:")).map(String::strip).toList();
        assertEquals(List.of("1", "2"), ps.stream().limit(2).map(l -> l.split("\\s+")[0]).toList(),
            "the job's init is PID 1, its program PID 2: " + out);
        assertTrue(ps.size() <= 6, "only the job's processes (init, sh, its background, ps): " + out);
        var pgrep = java.util.regex.Pattern.compile("pgrep: (\\d+)\\n").matcher(out);
        assertTrue(pgrep.find() && ps.contains(pgrep.group(1) + " sleep"), "pgrep finds the job's sleep by its PID in the job: " + out);
        var tasks = java.util.regex.Pattern.compile("Tasks: +(\\d+) total").matcher(out);
        assertTrue(tasks.find() && Integer.parseInt(tasks.group(1)) <= 6, "top counts the job's tasks: " + out);
    }

    @Test
    void psPgrepAndTopInsideAJobShowTheJobsOwnProcesses() {
        Cli cli = cluster.cli(1);
        var r = cli.run("run", "-n", "node2", "--", "sh", "-c", INSIDE + "; kill $!");
        assertEquals(0, r.exitCode(), r::describe);
        assertOwnView(r.out());
    }
}

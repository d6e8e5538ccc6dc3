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
    /** A second throwaway user, who must not see the first one's output. */
    static String other;
    static int otherUid;
    /** A folder only root may enter (0700), with an open folder and a script in it. */
    static Path privateDir;

    @BeforeAll
    static void createUser() {
        assumeTrue("root".equals(System.getProperty("user.name")), "creating a user needs root");
        // a JVM client run as root first: the launcher refreshes its AOT cache, which the user cannot write
        root().run("--version");
        user = "gste2e" + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 20), 36);
        var add = Procs.exec(30, "useradd", "--no-create-home", "--user-group", "--shell", "/bin/sh", user);
        assertEquals(0, add.exitCode(), add.stderr());
        uid = Integer.parseInt(Procs.exec(10, "id", "-u", user).stdout().strip());
        gid = Integer.parseInt(Procs.exec(10, "id", "-g", user).stdout().strip());
        other = user + "o";
        var addOther = Procs.exec(30, "useradd", "--no-create-home", "--user-group", "--shell", "/bin/sh", other);
        assertEquals(0, addOther.exitCode(), addOther.stderr());
        otherUid = Integer.parseInt(Procs.exec(10, "id", "-u", other).stdout().strip());
        var r = root().run("run", "-d", "-n", "node2", "--", "sleep", "319");
        assertEquals(0, r.exitCode(), r::describe);
        rootsProcess = r.out().strip();
        try {
            privateDir = java.nio.file.Files.createTempDirectory("gst-private-");
            java.nio.file.Files.setPosixFilePermissions(privateDir, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
            java.nio.file.Path inner = java.nio.file.Files.createDirectory(privateDir.resolve("inner"));
            java.nio.file.Files.setPosixFilePermissions(inner, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
            java.nio.file.Path script = java.nio.file.Files.writeString(privateDir.resolve("script"), "#!/bin/sh\necho ran\n");
            java.nio.file.Files.setPosixFilePermissions(script, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @AfterAll
    static void deleteUser() {
        if (privateDir != null) {
            Procs.exec(30, "rm", "-rf", privateDir.toString());
        }
        if (rootsProcess != null) {
            root().run("kill", "-9", rootsProcess);
        }
        for (String u : new String[] {user, other}) {
            if (u == null) {
                continue;
            }
            var pids = Procs.exec(10, "pgrep", "-u", u).stdout();
            pids.lines().filter(l -> !l.isBlank()).forEach(p -> ProcessHandle.of(Long.parseLong(p.strip()))
                .ifPresent(ProcessHandle::destroyForcibly));
            Procs.exec(30, "userdel", u);
            Procs.exec(30, "groupdel", u);
        }
    }

    private static Cli root() {
        return cluster.cli(1).withCwd(Path.of("/tmp"));
    }

    /** A supplementary group the test user's CLI has, which the user database does not give it. */
    static final int CALLERS_GROUP = 4243;

    /**
     * The CLI run as the test user, by setpriv (which execs the launcher), against node1's socket,
     * with the supplementary groups its process has, not those of the user database.
     */
    private static Cli asUser(String... more) {
        java.util.List<String> prefix = new java.util.ArrayList<>(java.util.List.of(
            "setpriv", "--reuid=" + uid, "--regid=" + gid, "--groups=" + CALLERS_GROUP));
        prefix.addAll(java.util.List.of(more));
        return cluster.cli(1).withCwd(Path.of("/tmp")).withEnv("HOME", "/tmp").withEnv("USER", user)
            .withEnv("LOGNAME", user).withPrefix(prefix.toArray(String[]::new));
    }

    /** The job runs as its caller's process does: its uid, gid and supplementary groups, from the kernel. */
    @ParameterizedTest
    @ValueSource(strings = {"-T", "-t", "-d"})
    void programsRunAsTheCallersProcess(String mode) {
        var r = asUser().run("run", mode, "-n", "node3", "--", "sh", "-c", "id -u; id -g; id -un; id -G");
        assertEquals(0, r.exitCode(), r::describe);
        String out = mode.equals("-d") ? asUser().run("logs", waitFor(r.out().strip())).out() : r.out();
        assertEquals(uid + "\n" + gid + "\n" + user + "\n" + gid + " " + CALLERS_GROUP + "\n", out.replace("\r", ""));
    }

    private static String waitFor(String gpid) {
        assertEquals(0, asUser().run("wait", gpid).exitCode());
        return gpid;
    }

    /** The job's resource limits are those of the caller's own process (not of a request, not root's). */
    @ParameterizedTest
    @ValueSource(strings = {"native", "jvm"})
    void limitsAreTheCallersProcesses(String client) {
        Cli c = asUser("prlimit", "--nofile=111:222", "--core=0:4096", "--");
        if (client.equals("jvm")) {
            c = c.withEnv("GESTALT_JVM_CLIENT", "1");
        }
        var r = c.run("run", "-T", "-n", "node2", "--", "sh", "-c", "ulimit -Sn; ulimit -Hn; ulimit -Sc; ulimit -Hc");
        assertEquals(0, r.exitCode(), r::describe);
        assertEquals("111\n222\n0\n8\n", r.out(), client + " client (core in 512-byte blocks): " + r.describe());
    }

    /** Another user's checkpoint is not listed to a user, and cannot be restarted or removed by them. */
    @Test
    void aUserCannotSeeRestartOrRemoveRootsCheckpoint() {
        var taken = root().run("checkpoint", "--leave-running", rootsProcess);
        assertEquals(0, taken.exitCode(), taken::describe);
        String name = taken.out().strip();
        try {
            var list = asUser().run("checkpoints");
            assertEquals(0, list.exitCode(), list::describe);
            assertTrue(!list.out().contains(name), "not listed to another user: " + list.out());
            assertTrue(root().run("checkpoints").out().contains(name), "listed to root");
            for (var args : java.util.List.of(new String[] {"restart", name}, new String[] {"checkpoints", "rm", name})) {
                var r = asUser().run(args);
                assertEquals(1, r.exitCode(), r::describe);
                assertTrue(r.stderr().contains("permission denied"), r::describe);
            }
            assertTrue(root().run("checkpoints").out().contains(name), "still there");
        } finally {
            assertEquals(0, root().run("checkpoints", "rm", name).exitCode());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"kill", "wait", "logs", "attach", "checkpoint"})
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

    /**
     * The working directory is entered as the caller, after the change of ids, on every path
     * (pipes, terminal, detached): a folder under one the caller cannot traverse is refused as
     * bash's cd refuses it, exit 1. (It used to be entered as root.)
     */
    @ParameterizedTest
    @ValueSource(strings = {"-T", "-t", "-d"})
    void aWorkingDirectoryTheCallerCannotEnterIsRefusedAsBashWould(String mode) {
        Path cwd = privateDir.resolve("inner");
        // the CLI itself can sit in such a folder: setpriv drops the ids after the test's chdir
        var r = asUser().withCwd(cwd).withEnv("PWD", null).run("run", mode, "-n", "node2", "--", "pwd");
        assertEquals(1, r.exitCode(), r::describe);
        assertEquals("gestalt: cd: " + cwd + ": Permission denied\n", r.stderr(), r::describe);
        assertEquals("", r.out(), "nothing ran: " + r.describe());
        var asRoot = root().withCwd(cwd).run("run", "-T", "-n", "node2", "--", "pwd");
        assertEquals(cwd + "\n", asRoot.out(), "root may: " + asRoot.describe());
    }

    /** The program is looked up as the caller: a path under a folder it cannot enter says nothing about what is there. */
    @ParameterizedTest
    @ValueSource(strings = {"-T", "-t", "-d"})
    void whatLiesUnderAFolderTheCallerCannotEnterIsNotRevealed(String mode) {
        var existing = asUser().run("run", mode, "-n", "node3", "--", privateDir.resolve("script").toString());
        var missing = asUser().run("run", mode, "-n", "node3", "--", privateDir.resolve("no-such-script").toString());
        assertEquals(126, existing.exitCode(), existing::describe);
        assertEquals("gestalt: " + privateDir.resolve("script") + ": Permission denied\n", existing.stderr());
        assertEquals(126, missing.exitCode(), "the same answer for a file that is not there: " + missing.describe());
        assertEquals("gestalt: " + privateDir.resolve("no-such-script") + ": Permission denied\n", missing.stderr());
        var asRoot = root().run("run", mode, "-n", "node3", "--", privateDir.resolve("script").toString());
        assertEquals(0, asRoot.exitCode(), "root may: " + asRoot.describe());
    }

    /**
     * A signal never reaches a recycled pid: the user's detached job ends, the kernel hands its
     * pid to a process of root (the test asks for it through ns_last_pid), and the user's
     * {@code kill -9 NODE:PID} is refused, not delivered. (The node used to match the pid against
     * its ended job's and kill it.)
     */
    @Test
    void aSignalNeverReachesARecycledPid() throws Exception {
        Process squatter = null;
        long pid = -1;
        for (int attempt = 0; attempt < 5 && squatter == null; attempt++) {
            var d = asUser().run("run", "-d", "-n", "node2", "--", "sleep", "1");
            assertEquals(0, d.exitCode(), d::describe);
            String gpid = d.out().strip();
            var ps = root().run("ps", "--json");
            pid = dev.gestalt.testkit.TinyJson.rows(ps.out()).stream().filter(m -> gpid.equals(m.get("gpid")))
                .map(m -> (Long) m.get("pid")).findFirst().orElseThrow();
            assertEquals(0, asUser().run("wait", gpid).exitCode());
            // the next pid the kernel hands out is pid (unless another process of this busy machine is faster)
            java.nio.file.Files.writeString(Path.of("/proc/sys/kernel/ns_last_pid"), Long.toString(pid - 1));
            Process p = new ProcessBuilder("sleep", "322").start();
            if (p.pid() == pid) {
                squatter = p;
            } else {
                p.destroyForcibly();
            }
        }
        assumeTrue(squatter != null, "the kernel did not hand pid " + pid + " out again in 5 tries");
        try {
            var kill = asUser().run("kill", "-9", "node2:" + pid);
            assertEquals(1, kill.exitCode(), kill::describe);
            assertTrue(kill.stderr().contains("permission denied"), kill::describe);
            Thread.sleep(500);
            assertTrue(squatter.isAlive(), "root's process that got the recycled pid lives");
        } finally {
            squatter.destroyForcibly();
        }
    }

    /** As {@code asUser}, for the second user. */
    private static Procs.Exec asOther(String... command) {
        String[] all = new String[command.length + 4];
        all[0] = "setpriv";
        all[1] = "--reuid=" + other;
        all[2] = "--regid=" + other;
        all[3] = "--init-groups";
        System.arraycopy(command, 0, all, 4, command.length);
        return Procs.exec(30, all);
    }

    private static void assertOwnerOnly(Path path, String mode) throws Exception {
        var attrs = java.nio.file.Files.readAttributes(path, java.nio.file.attribute.PosixFileAttributes.class,
            java.nio.file.LinkOption.NOFOLLOW_LINKS);
        assertEquals(user, attrs.owner().getName(), path + " belongs to the job's user");
        assertEquals(mode, java.nio.file.attribute.PosixFilePermissions.toString(attrs.permissions()), path + "'s mode");
    }

    /**
     * What a node logs (users' commands, paths, GPIDs) and its configuration are the admin's to
     * read: `cluster up` made them 0644, readable by every user of the machine.
     */
    @Test
    void aNodesLogAndConfigurationAreTheAdminsAlone() throws Exception {
        for (int n = 1; n <= 3; n++) {
            for (Path f : java.util.List.of(cluster.log(n), cluster.config(n))) {
                var attrs = java.nio.file.Files.readAttributes(f, java.nio.file.attribute.PosixFileAttributes.class,
                    java.nio.file.LinkOption.NOFOLLOW_LINKS);
                assertEquals("root", attrs.owner().getName(), f::toString);
                assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(attrs.permissions()), f + "'s mode");
                var theirs = asOther("cat", f.toString());
                assertEquals(1, theirs.exitCode(), "another user reads " + f + ": " + theirs.stdout());
            }
        }
    }

    /**
     * A detached job's output is its user's alone, on every node: its log folder (0700) and files
     * (0600) belong to the user; another user cannot read them by path (nor with logs), the user
     * can. The same for a job that became detached when its client went away (hung up).
     */
    @Test
    void anotherUserCannotReadADetachedJobsOutputByPathOnAnyNode() throws Exception {
        var hungUp = asUser().start("run", "-n", "node2", "--", "sh", "-c",
            "trap '' HUP; echo ready; sleep 3; echo secret-after-hangup; exec sleep 323");
        dev.gestalt.testkit.Eventually.holds(java.time.Duration.ofSeconds(60), "the attached job runs",
            () -> hungUp.stdoutSoFar().contains("ready"));
        String hungUpGpid = dev.gestalt.testkit.TinyJson.rows(root().run("ps", "--json").out()).stream()
            .filter(m -> String.valueOf(m.get("command")).contains("secret-after-hangup"))
            .map(m -> (String) m.get("gpid")).findFirst().orElseThrow();
        Procs.signal(hungUp.pid(), "KILL"); // its client goes: the job is hung up, and goes on detached
        java.util.Map<String, String> jobs = new java.util.LinkedHashMap<>();
        for (int n = 1; n <= 3; n++) {
            var d = asUser().run("run", "-d", "-n", "node" + n, "--", "sh", "-c", "echo secret-node" + n + "; echo err >&2");
            assertEquals(0, d.exitCode(), d::describe);
            assertEquals(0, asUser().run("wait", d.out().strip()).exitCode());
            jobs.put(d.out().strip(), "node" + n);
        }
        dev.gestalt.testkit.Eventually.holds(java.time.Duration.ofSeconds(60), "the hung-up job's output reaches its log",
            () -> asUser().run("logs", hungUpGpid).out().contains("secret-after-hangup"));
        jobs.put(hungUpGpid, "node2");
        String threads = Procs.exec(60, Path.of(System.getProperty("java.home"), "bin", "jstack").toString(),
            Long.toString(cluster.pid(2))).stdout();
        assertTrue(threads.contains("\"main\""), "a thread dump of node2: " + threads);
        assertTrue(!threads.contains("\"exec-" + hungUpGpid + "\""), "no thread of node2 waits on for the hung-up job");
        for (var e : jobs.entrySet()) {
            Path dir = cluster.dir().resolve(e.getValue()).resolve("state").resolve("logs").resolve(e.getKey());
            assertOwnerOnly(dir, "rwx------");
            for (String stream : new String[] {"stdout", "stderr"}) {
                Path file = dir.resolve(stream);
                assertOwnerOnly(file, "rw-------");
                var theirs = asOther("cat", file.toString());
                assertEquals(1, theirs.exitCode(), "another user reads " + file + ": " + theirs.stdout());
                assertTrue(theirs.stderr().contains("Permission denied"), theirs.stderr());
            }
            var own = Procs.exec(30, "setpriv", "--reuid=" + uid, "--regid=" + gid, "--init-groups", "cat",
                dir.resolve("stdout").toString());
            assertEquals(0, own.exitCode(), own.stderr());
            assertTrue(own.stdout().contains("secret-"), "the user reads their own log by path: " + own.stdout());
            var logs = cluster.cli(1).withCwd(Path.of("/tmp")).withEnv("HOME", "/tmp")
                .withPrefix("setpriv", "--reuid=" + otherUid, "--regid=" + other, "--init-groups").run("logs", e.getKey());
            assertEquals(1, logs.exitCode(), logs::describe);
            assertTrue(logs.stderr().contains("permission denied"), logs::describe);
        }
        assertEquals(0, root().run("kill", "-9", hungUpGpid).exitCode());
    }

    /**
     * A detached job's log folder is its user's, so the user can replace a log with a link, here to
     * a file only root may read: `logs`, which the node answers as root, shows nothing of it.
     */
    @Test
    void aLogReplacedByALinkShowsNothingOfWhatItPointsTo() throws Exception {
        Path rootOnly = rootOnlyFile();
        var d = asUser().run("run", "-d", "-n", "node2", "--", "sh", "-c", "echo public; exec sleep 322");
        assertEquals(0, d.exitCode(), d::describe);
        String gpid = d.out().strip();
        try {
            dev.gestalt.testkit.Eventually.holds(java.time.Duration.ofSeconds(60), "its output reaches its log",
                () -> asUser().run("logs", gpid).out().contains("public"));
            var swap = Procs.exec(30, "setpriv", "--reuid=" + uid, "--regid=" + gid, "--init-groups", "sh", "-c",
                "rm -f \"$1\" && ln -s \"$2\" \"$1\"", "sh", log("node2", gpid).toString(), rootOnly.toString());
            assertEquals(0, swap.exitCode(), swap.stderr());
            var logs = asUser().run("logs", gpid);
            assertTrue(!logs.out().contains(java.nio.file.Files.readString(rootOnly).strip()),
                "logs followed the link as root: " + logs.describe());
        } finally {
            root().run("kill", "-9", gpid);
            java.nio.file.Files.deleteIfExists(rootOnly);
        }
    }

    /**
     * The same link met by a move and a checkpoint, which read the log as root too (shown with
     * root's job: CRIU cannot read another user's limits where the daemon lacks CAP_SYS_RESOURCE,
     * as here, so a user's job does not move here at all). The move fails and leaves the job
     * running where it was; the checkpoint leaves the link out; after a restart on another node,
     * the linked file's content is in no log and on no disk of the cluster.
     */
    @Test
    void aMoveOrACheckpointCarriesNothingOfWhereALinkedLogPoints() throws Exception {
        Path rootOnly = rootOnlyFile();
        String secret = java.nio.file.Files.readString(rootOnly).strip();
        var d = root().run("run", "-d", "-n", "node2", "--", "sh", "-c", "echo public; exec sleep 324");
        assertEquals(0, d.exitCode(), d::describe);
        String gpid = d.out().strip();
        String checkpoint = null;
        try {
            dev.gestalt.testkit.Eventually.holds(java.time.Duration.ofSeconds(60), "its output reaches its log",
                () -> root().run("logs", gpid).out().contains("public"));
            Path log = log("node2", gpid);
            java.nio.file.Files.delete(log);
            java.nio.file.Files.createSymbolicLink(log, rootOnly);

            var moved = root().run("migrate", gpid, "node3");
            assertTrue(moved.exitCode() != 0, "a move that would carry the link fails: " + moved.describe());
            var row = dev.gestalt.testkit.TinyJson.rows(root().run("ps", "--json").out()).stream()
                .filter(m -> gpid.equals(m.get("gpid"))).findFirst().orElseThrow();
            assertEquals("node2", row.get("node"), "it runs on where it was: " + row);
            assertTrue(!"exited".equals(row.get("state")), "and still runs: " + row);

            var taken = root().run("checkpoint", gpid);
            assertEquals(0, taken.exitCode(), taken::describe);
            checkpoint = taken.out().strip();
            var again = root().run("restart", "-n", "node3", checkpoint);
            assertEquals(0, again.exitCode(), again::describe);
            var after = root().run("logs", gpid);
            assertTrue(!after.out().contains(secret), "the restarted job's log: " + after.describe());
            var grep = Procs.exec(60, "grep", "-r", "-l", "-a", "--no-messages", secret, cluster.dir().toString());
            assertEquals("", grep.stdout().strip(), "files of the cluster that hold the linked file's content");
        } finally {
            root().run("kill", "-9", gpid);
            if (checkpoint != null) {
                root().run("checkpoints", "rm", checkpoint);
            }
            java.nio.file.Files.deleteIfExists(rootOnly);
        }
    }

    /** A file only root may read, with a line no log holds by chance. */
    private static Path rootOnlyFile() throws java.io.IOException {
        Path f = java.nio.file.Files.createTempFile("gst-root-only-", "");
        java.nio.file.Files.setPosixFilePermissions(f, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        java.nio.file.Files.writeString(f, "root-only-" + Long.toString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE, 36) + "\n");
        return f;
    }

    /** A detached job's stdout log on a node. */
    private static Path log(String node, String gpid) {
        return cluster.dir().resolve(node).resolve("state").resolve("logs").resolve(gpid).resolve("stdout");
    }
}

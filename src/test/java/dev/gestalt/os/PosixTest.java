package dev.gestalt.os;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class PosixTest {

    private static String sh(String script) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("/bin/sh", "-c", script).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        return out;
    }

    @Test
    void effectiveIdsMatchId() throws Exception {
        assertEquals(Integer.parseInt(sh("id -u")), Posix.geteuid());
        assertEquals(Integer.parseInt(sh("id -g")), Posix.getegid());
    }

    @Test
    void umaskSetsAndReturnsThePreviousMask() {
        int old = Posix.umask(0027);
        try {
            assertEquals(0027, ProcessContext.umask());
            assertEquals(0027, Posix.umask(0077));
            assertEquals(0077, ProcessContext.umask());
        } finally {
            Posix.umask(old);
        }
        assertEquals(old, ProcessContext.umask());
    }

    @Test
    void killSignalsAProcessAndReportsAGoneOne() throws Exception {
        Process sleep = new ProcessBuilder("sleep", "100").start();
        assertTrue(Posix.kill(sleep.pid(), 0));
        assertTrue(Posix.kill(sleep.pid(), Signals.SIGTERM));
        assertTrue(sleep.waitFor(10, TimeUnit.SECONDS));
        assertEquals(128 + Signals.SIGTERM, sleep.exitValue());
        assertFalse(Posix.kill(sleep.pid(), 0));
        assertThrows(IllegalArgumentException.class, () -> Posix.kill(-1, 0));
    }

    @Test
    void killpgSignalsTheWholeGroup() throws Exception {
        Process leader = new ProcessBuilder("setsid", "--wait", "sh", "-c", "sleep 100 & sleep 100; wait").start();
        long child = awaitChild(leader.pid()); // setsid has run: the leader's pid is the group's id
        assertTrue(Posix.killpg(leader.pid(), Signals.SIGKILL));
        assertTrue(leader.waitFor(10, TimeUnit.SECONDS));
        assertEquals(128 + Signals.SIGKILL, leader.exitValue());
        for (int i = 0; i < 200 && Posix.kill(child, 0); i++) {
            Thread.sleep(25); // the killed child may linger as a zombie until init reaps it
        }
        assertFalse(Posix.kill(child, 0) && !sh("cat /proc/" + child + "/stat").contains(") Z "));
    }

    private static long awaitChild(long pid) throws Exception {
        for (int i = 0; i < 200; i++) {
            String children = sh("cat /proc/" + pid + "/task/" + pid + "/children");
            if (!children.isBlank()) {
                return Long.parseLong(children.split("\\s+")[0]);
            }
            Thread.sleep(25);
        }
        throw new AssertionError("no child of " + pid);
    }

    @Test
    void userAndGroupDatabase() {
        UserInfo root = Posix.getpwnam("root").orElseThrow();
        assertEquals(0, root.uid());
        assertEquals(0, root.gid());
        assertEquals("/root", root.home());
        assertEquals(root, Posix.getpwuid(0).orElseThrow());
        assertEquals(new GroupInfo(0, "root"), Posix.getgrnam("root").orElseThrow());
        assertEquals("root", Posix.getgrgid(0).orElseThrow().name());
        assertTrue(Posix.getpwnam("no-such-user-gestalt").isEmpty());
        assertTrue(Posix.getgrnam("no-such-group-gestalt").isEmpty());
        assertTrue(Posix.getpwuid(1_999_999_999).isEmpty());
    }

    @Test
    void groupListOfACreatedUser() throws Exception {
        assumeTrue(Posix.geteuid() == 0, "needs root to create a user");
        try (TestUser user = TestUser.create()) {
            int[] groups = Posix.getgrouplist(user.name, user.info.gid());
            Arrays.sort(groups);
            int[] expected = {user.info.gid(), user.extraGid};
            Arrays.sort(expected);
            assertArrayEquals(expected, groups);
            assertEquals(user.info.uid(), Integer.parseInt(sh("id -u " + user.name)));
        }
    }

    @Test
    void notATerminal() {
        assertFalse(Posix.isatty(999));
        assertTrue(Posix.windowSize(999).isEmpty());
    }
}

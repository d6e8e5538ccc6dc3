package dev.gestalt.process.supervisor;

import dev.gestalt.os.Limit;
import dev.gestalt.os.Posix;
import dev.gestalt.os.TestUser;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static dev.gestalt.process.supervisor.Specs.exitOf;
import static dev.gestalt.process.supervisor.Specs.text;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The job sees exactly the caller's argv, environment, directory, umask, limits and ids. */
class ContextTest {
    @RegisterExtension
    static final SupervisorFixture fixture = new SupervisorFixture();

    @Test
    void argvIsByteExact() throws Exception {
        List<String> args = List.of("two words", "quote\"d", "it's", "ünïcødé ✓", "", "  lead", "tab\there",
                "$HOME", "*", "new\nline");
        List<String> argv = new java.util.ArrayList<>(List.of("sh", "-c",
                "for a in \"$@\"; do printf '%s\\0' \"$a\"; done", "sh"));
        argv.addAll(args);
        Job job = fixture.get().start(Specs.builder(argv.toArray(String[]::new)).build());
        byte[] out = job.stdout().readAllBytes();
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        for (String a : args) {
            expected.write(a.getBytes(StandardCharsets.UTF_8));
            expected.write(0);
        }
        assertArrayEquals(expected.toByteArray(), out);
        assertEquals(0, exitOf(job));
    }

    @Test
    void environmentIsExactlyTheSpecs() throws Exception {
        Map<String, String> env = new HashMap<>(Specs.ENV);
        env.put("GST_SPACES", "a b  c");
        env.put("GST_UNICODE", "é✓");
        env.put("EMPTY", "");
        Job job = fixture.get().start(Specs.builder("env", "-0").env(env).build());
        Map<String, String> seen = new TreeMap<>();
        for (String entry : text(job.stdout()).split("\0")) {
            int eq = entry.indexOf('=');
            seen.put(entry.substring(0, eq), entry.substring(eq + 1));
        }
        assertEquals(new TreeMap<>(env), seen);
        assertEquals(0, exitOf(job));
    }

    @Test
    void workingDirectory(@TempDir Path dir) throws Exception {
        Job job = fixture.get().start(Specs.builder("pwd").cwd(dir).build());
        assertEquals(dir.toRealPath() + "\n", text(job.stdout()));
    }

    @Test
    void umaskIsTheCallers(@TempDir Path dir) throws Exception {
        int daemonUmask = dev.gestalt.os.ProcessContext.umask();
        Job job = fixture.get().start(Specs.builder("sh", "-c", "umask; touch f; mkdir d").cwd(dir).umask(0027).build());
        assertEquals("0027\n", text(job.stdout()));
        assertEquals(0, exitOf(job));
        assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("f"))));
        assertEquals("rwxr-x---", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("d"))));
        assertEquals(daemonUmask, dev.gestalt.os.ProcessContext.umask(), "the daemon's umask is restored");
    }

    @Test
    void limitsAreApplied() throws Exception {
        List<Limit> limits = List.of(new Limit(Limit.resourceOf("nofile"), 123, 456),
                new Limit(Limit.resourceOf("core"), 0, Limit.INFINITY));
        Job job = fixture.get().start(Specs.builder("sh", "-c", "ulimit -Sn; ulimit -Hn; ulimit -Sc")
                .limits(limits).build());
        assertEquals("123\n456\n0\n", text(job.stdout()));
        assertEquals(0, exitOf(job));
    }

    @Test
    void aHardLimitAboveTheKeepersIsGivenWhereTheKernelLetsIt() throws Exception {
        // The spec's limits are the caller's, as the kernel reported them: they are set as they are.
        // Raising a hard limit above the keeper's own needs CAP_SYS_RESOURCE; without it the
        // keeper's hard limit is the most a job can get.
        long hard = dev.gestalt.os.ProcessContext.limit(7).hard();
        assumeTrue(hard != Limit.INFINITY);
        long wanted = hard + 1000;
        Job job = fixture.get().start(Specs.builder("sh", "-c", "ulimit -Sn; ulimit -Hn")
                .limits(List.of(new Limit(7, wanted, wanted))).build());
        long expected = mayRaiseHardLimits() ? wanted : hard;
        assertEquals(expected + "\n" + expected + "\n", text(job.stdout()));
    }

    /** Whether this process has CAP_SYS_RESOURCE (bit 24) in its effective set. */
    private static boolean mayRaiseHardLimits() throws java.io.IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("CapEff:")) {
                return (Long.parseUnsignedLong(line.substring(7).strip(), 16) & (1L << 24)) != 0;
            }
        }
        return false;
    }

    @Test
    void runsAsAnotherUser(@TempDir Path dir) throws Exception {
        assumeTrue(Posix.geteuid() == 0, "needs root");
        try (TestUser user = TestUser.create()) {
            int[] groups = Posix.getgrouplist(user.name, user.info.gid());
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
            Job job = fixture.get().start(Specs.builder("sh", "-c", "id -u; id -g; id -G; touch mine")
                    .cwd(dir).as(user.info.uid(), user.info.gid(), groups, user.name).build());
            String[] lines = text(job.stdout()).split("\n");
            assertEquals(0, exitOf(job));
            assertEquals(Integer.toString(user.info.uid()), lines[0]);
            assertEquals(Integer.toString(user.info.gid()), lines[1]);
            int[] seen = Arrays.stream(lines[2].split(" ")).mapToInt(Integer::parseInt).sorted().toArray();
            assertArrayEquals(Arrays.stream(groups).sorted().toArray(), seen);
            assertEquals(user.info.uid(), (Integer) Files.getAttribute(dir.resolve("mine"), "unix:uid"));
            Files.delete(dir.resolve("mine"));
        }
    }

    @Test
    void anotherUserCannotRunWhatOnlyRootMay(@TempDir Path dir) throws Exception {
        assumeTrue(Posix.geteuid() == 0, "needs root");
        Path script = Files.writeString(dir.resolve("rootonly"), "#!/bin/sh\necho hi\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
        try (TestUser user = TestUser.create()) {
            LaunchException e = org.junit.jupiter.api.Assertions.assertThrows(LaunchException.class,
                    () -> fixture.get().start(Specs.builder(script.toString()).cwd(Path.of("/"))
                            .as(user.info.uid(), user.info.gid(), new int[0], user.name).build()));
            assertEquals(126, e.exitCode());
        }
        assertEquals("hi\n", text(fixture.get().start(Specs.builder(script.toString()).build()).stdout()));
    }
}

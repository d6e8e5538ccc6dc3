package dev.gestalt.process.supervisor;

import dev.gestalt.os.Limit;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The shape of the wrapper chain and the capping of limits, without spawning anything. */
class LaunchChainTest {

    private static List<Limit> daemon(long nofileHard) {
        List<Limit> limits = new ArrayList<>();
        for (int r = 0; r < Limit.COUNT; r++) {
            limits.add(new Limit(r, Limit.INFINITY, r == 7 ? nofileHard : Limit.INFINITY));
        }
        return limits;
    }

    private static LaunchSpec spec(int uid, int[] groups, boolean tty, List<Limit> limits) {
        return new LaunchSpec("g1", List.of("ls", "-l"), Map.of(), Path.of("/"), uid, 100, groups, "u",
                022, limits, tty, 81, 23, false);
    }

    @Test
    void privilegedChainForAnotherUser() {
        List<String> chain = LaunchChain.build(spec(1000, new int[] {100, 27}, false,
                List.of(new Limit(7, 1024, 4096))), List.of("ls", "-l"), true, daemon(2048));
        assertEquals(List.of("/usr/bin/setpriv", "--pdeathsig", "KILL", "--",
                "/usr/bin/unshare", "--pid", "--fork", "--kill-child", "/usr/bin/setsid",
                "/usr/bin/tini", "-s", "-g", "--",
                "/usr/bin/prlimit", "--nofile=1024:2048", "--",
                "/usr/bin/setpriv", "--reuid", "1000", "--regid", "100", "--groups", "100,27",
                "--inh-caps", "-all", "--", "ls", "-l"), chain);
    }

    @Test
    void ttyChainSetsTheSizeFirstAndTakesTheTerminal() {
        List<String> chain = LaunchChain.build(spec(0, new int[0], true, List.of()), List.of("ls"), true, daemon(-1));
        assertEquals("/usr/bin/perl", chain.get(0));
        assertEquals(List.of("23", "81", "/usr/bin/setpriv"), chain.subList(3, 6));
        assertEquals(List.of("/usr/bin/setsid", "--ctty", "/usr/bin/tini"),
                chain.subList(chain.indexOf("/usr/bin/setsid"), chain.indexOf("/usr/bin/setsid") + 3));
        assertEquals(List.of("--regid", "100", "--clear-groups", "--", "ls"), chain.subList(chain.size() - 5, chain.size()));
    }

    @Test
    void aJobWithTheDaemonsOwnIdentityAndLimitsNeedsNeitherPrlimitNorSetpriv() throws Exception {
        int uid = dev.gestalt.os.Posix.geteuid();
        int gid = dev.gestalt.os.Posix.getegid();
        int[] groups = java.util.Arrays.stream(java.nio.file.Files.readAllLines(Path.of("/proc/self/status")).stream()
                .filter(l -> l.startsWith("Groups:")).findFirst().orElseThrow().substring(7).trim().split("\\s+"))
                .filter(x -> !x.isEmpty()).mapToInt(Integer::parseInt).toArray();
        List<Limit> same = daemon(Limit.INFINITY);
        var spec = new LaunchSpec("g1", List.of("ls"), Map.of(), Path.of("/"), uid, gid, groups, "u", 022, same,
                false, 0, 0, false);
        List<String> chain = LaunchChain.build(spec, List.of("ls"), true, same);
        assertEquals(List.of("/usr/bin/setpriv", "--pdeathsig", "KILL", "--",
                "/usr/bin/unshare", "--pid", "--fork", "--kill-child", "/usr/bin/setsid",
                "/usr/bin/tini", "-s", "-g", "--", "ls"), chain);
        List<Limit> oneDiffers = new ArrayList<>(same);
        oneDiffers.set(7, new Limit(7, 1024, 4096));
        var spec2 = new LaunchSpec("g1", List.of("ls"), Map.of(), Path.of("/"), uid, gid, groups, "u", 022, oneDiffers,
                false, 0, 0, false);
        List<String> chain2 = LaunchChain.build(spec2, List.of("ls"), true, same);
        assertEquals(List.of("/usr/bin/prlimit", "--nofile=1024:4096", "--", "ls"), chain2.subList(13, 17),
                "only the limit that differs from the daemon's is set");
    }

    @Test
    void unprivilegedChainHasNoNamespaceNorUidSwitch() {
        assertEquals(List.of("/usr/bin/setpriv", "--pdeathsig", "KILL", "--", "/usr/bin/setsid",
                        "/usr/bin/tini", "-s", "-g", "--", "ls"),
                LaunchChain.build(spec(0, new int[0], false, List.of()), List.of("ls"), false, daemon(-1)));
        List<String> tty = LaunchChain.build(spec(0, new int[0], true, List.of()), List.of("ls"), false, daemon(-1));
        assertEquals(List.of("/usr/bin/setpriv", "--pdeathsig", "KILL", "--", "/usr/bin/tini"), tty.subList(5, 10));
    }

    @Test
    void limitsAreCappedToTheDaemonsHardLimits() {
        assertEquals("1024:2048", LaunchChain.capped(new Limit(7, 1024, Limit.INFINITY), 2048));
        assertEquals("2048:2048", LaunchChain.capped(new Limit(7, Limit.INFINITY, Limit.INFINITY), 2048));
        assertEquals("10:20", LaunchChain.capped(new Limit(7, 10, 20), 2048));
        assertEquals("unlimited:unlimited", LaunchChain.capped(new Limit(7, -1, -1), Limit.INFINITY));
        assertEquals("5:unlimited", LaunchChain.capped(new Limit(4, 5, -1), Limit.INFINITY));
    }

    @Test
    void specsAreValidated() {
        assertThrows(IllegalArgumentException.class, () -> new LaunchSpec("../x", List.of("ls"), Map.of(),
                Path.of("/"), 0, 0, new int[0], "root", 022, List.of(), false, 80, 24, false));
        assertThrows(IllegalArgumentException.class, () -> new LaunchSpec("g", List.of(), Map.of(),
                Path.of("/"), 0, 0, new int[0], "root", 022, List.of(), false, 80, 24, false));
        assertThrows(IllegalArgumentException.class, () -> new LaunchSpec("g", List.of("ls"), Map.of(),
                Path.of("/"), 0, 0, new int[0], "root", 01000, List.of(), false, 80, 24, false));
    }
}

package dev.gestalt.process.supervisor;

import dev.gestalt.os.Limit;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The options the keeper gets for a job, without starting anything. */
class LaunchChainTest {

    private static LaunchSpec spec(int uid, int[] groups, boolean tty, boolean detached, List<Limit> limits) {
        return new LaunchSpec("g1", List.of("ls", "-l"), Map.of(), Path.of("/home/u"), uid, 100, groups, "u",
                022, limits, tty, 81, 23, detached);
    }

    @Test
    void privilegedChainForAnotherUser() {
        List<String> chain = LaunchChain.build(spec(1000, new int[] {100, 27}, false, false,
                List.of(new Limit(7, 1024, 4096))), true);
        assertEquals(List.of("-p", "-m", "22", "-C", "/home/u", "-r", "7=1024:4096",
                "-G", "100,27", "-g", "100", "-u", "1000", "-i", "--", "ls", "-l"), chain);
    }

    @Test
    void aTerminalIsSizedAndADetachedJobSaysSo() {
        List<String> chain = LaunchChain.build(spec(0, new int[0], true, true, List.of()), true);
        assertEquals(List.of("-p", "-t", "23,81", "-d", "-m", "22", "-C", "/home/u", "-G", "-", "-g", "100", "-u", "0",
                "--", "ls", "-l"), chain, "root keeps its capabilities (no -i); no groups is spelled '-'");
    }

    @Test
    void everyLimitIsPassedAsTheKernelGaveIt() {
        List<String> chain = LaunchChain.build(spec(0, new int[0], false, false,
                List.of(new Limit(4, 0, Limit.INFINITY), new Limit(7, 1024, 1048576))), false);
        assertEquals(List.of("-m", "22", "-C", "/home/u", "-r", "4=0:-1", "-r", "7=1024:1048576", "--", "ls", "-l"), chain,
                "unprivileged: no namespace, no change of ids; limits as they are (the init lowers only what it must)");
    }

    @Test
    void aJobWithTheDaemonsOwnIdentityNeedsNoSwitch() throws Exception {
        int uid = dev.gestalt.os.Posix.geteuid();
        int gid = dev.gestalt.os.Posix.getegid();
        int[] groups = java.util.Arrays.stream(java.nio.file.Files.readAllLines(Path.of("/proc/self/status")).stream()
                .filter(l -> l.startsWith("Groups:")).findFirst().orElseThrow().substring(7).trim().split("\\s+"))
                .filter(x -> !x.isEmpty()).mapToInt(Integer::parseInt).toArray();
        var spec = new LaunchSpec("g1", List.of("ls"), Map.of(), Path.of("/"), uid, gid, groups, "u", 077, List.of(),
                false, 0, 0, false);
        assertEquals(List.of("-p", "-m", "77", "-C", "/", "--", "ls"), LaunchChain.build(spec, true));
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

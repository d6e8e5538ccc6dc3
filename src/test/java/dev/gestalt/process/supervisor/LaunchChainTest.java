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

    private static final Path HELPER = Path.of("/x/gestalt-exec");

    @Test
    void privilegedChainForAnotherUser() {
        List<String> chain = LaunchChain.build(HELPER, spec(1000, new int[] {100, 27}, false,
                List.of(new Limit(7, 1024, 4096))), List.of("ls", "-l"), true, daemon(2048));
        assertEquals(List.of("/x/gestalt-exec", "-p", "-s", "-r", "7=1024:2048",
                "-G", "100,27", "-g", "100", "-u", "1000", "-i", "--", "ls", "-l"), chain);
    }

    @Test
    void ttyChainSetsTheSizeFirstAndTakesTheTerminal() {
        List<String> chain = LaunchChain.build(HELPER, spec(0, new int[0], true, List.of()), List.of("ls"), true, daemon(-1));
        assertEquals(List.of("/x/gestalt-exec", "-w", "23,81", "-p", "-c", "-G", "-", "-g", "100", "-u", "0", "--", "ls"),
                chain, "root keeps its capabilities (no -i); no groups is spelled '-'");
    }

    @Test
    void aJobWithTheDaemonsOwnIdentityAndLimitsNeedsNoSwitchAndNoLimits() throws Exception {
        int uid = dev.gestalt.os.Posix.geteuid();
        int gid = dev.gestalt.os.Posix.getegid();
        int[] groups = java.util.Arrays.stream(java.nio.file.Files.readAllLines(Path.of("/proc/self/status")).stream()
                .filter(l -> l.startsWith("Groups:")).findFirst().orElseThrow().substring(7).trim().split("\\s+"))
                .filter(x -> !x.isEmpty()).mapToInt(Integer::parseInt).toArray();
        List<Limit> same = daemon(Limit.INFINITY);
        var spec = new LaunchSpec("g1", List.of("ls"), Map.of(), Path.of("/"), uid, gid, groups, "u", 022, same,
                false, 0, 0, false);
        assertEquals(List.of("/x/gestalt-exec", "-p", "-s", "--", "ls"), LaunchChain.build(HELPER, spec, List.of("ls"), true, same));
        List<Limit> oneDiffers = new ArrayList<>(same);
        oneDiffers.set(7, new Limit(7, 1024, 4096));
        var spec2 = new LaunchSpec("g1", List.of("ls"), Map.of(), Path.of("/"), uid, gid, groups, "u", 022, oneDiffers,
                false, 0, 0, false);
        assertEquals(List.of("/x/gestalt-exec", "-p", "-s", "-r", "7=1024:4096", "--", "ls"),
                LaunchChain.build(HELPER, spec2, List.of("ls"), true, same), "only the limit that differs from the daemon's is set");
    }

    @Test
    void unprivilegedChainHasNoNamespaceNorUidSwitch() {
        assertEquals(List.of("/x/gestalt-exec", "-s", "--", "ls"),
                LaunchChain.build(HELPER, spec(0, new int[0], false, List.of()), List.of("ls"), false, daemon(-1)));
        assertEquals(List.of("/x/gestalt-exec", "-w", "23,81", "--", "ls"),
                LaunchChain.build(HELPER, spec(0, new int[0], true, List.of()), List.of("ls"), false, daemon(-1)),
                "a tty job keeps the session pty4j made");
    }

    @Test
    void limitsAreCappedToTheDaemonsHardLimits() {
        List<Limit> daemon = daemon(2048);
        assertEquals(List.of("-r", "7=1024:2048"), limitArgs(new Limit(7, 1024, Limit.INFINITY), daemon));
        assertEquals(List.of("-r", "7=2048:2048"), limitArgs(new Limit(7, Limit.INFINITY, Limit.INFINITY), daemon));
        assertEquals(List.of("-r", "7=10:20"), limitArgs(new Limit(7, 10, 20), daemon));
        assertEquals(List.of("-r", "4=5:-1"), limitArgs(new Limit(4, 5, -1), daemon));
        assertEquals(List.of(), limitArgs(new Limit(4, -1, -1), daemon), "what the job inherits anyway is not set");
    }

    private static List<String> limitArgs(Limit wanted, List<Limit> daemon) {
        List<String> chain = LaunchChain.build(HELPER, spec(0, new int[0], false, List.of(wanted)), List.of("ls"), false, daemon);
        return chain.subList(2, chain.indexOf("--"));
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

package dev.gestalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.gestalt.testkit.Cli;
import dev.gestalt.testkit.LocalClusterFixture;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code gestalt run} (and each task of {@code forall}) and working directories: a folder in the file space is valid on every
 * node; a folder outside it that only some nodes have decides the placement, and a process
 * pinned to a node without it is refused with exit 255 naming the folder, never a confusing
 * error from the far side. The CLI runs as a job on node2 (inside node2's namespaces, where the
 * folders are), as a Makefile's recipes would.
 */
@Tag("e2e")
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class FilePlacementIT {

    @RegisterExtension
    static final LocalClusterFixture cluster = LocalClusterFixture.shared(3);

    @BeforeAll
    static void root() {
        assumeTrue("root".equals(System.getProperty("user.name")), "the file space of a local cluster needs root");
    }

    /**
     * Runs a shell script as a job on node2; inside it, $G is the CLI, whose home node is the local
     * cluster's first node that answers (node1): the folders made here exist on node2 only.
     */
    private static Cli.Result onNode2(String script) {
        return cluster.cli(2).withCwd(Path.of("/tmp")).run("run", "-n", "node2", "--", "sh", "-c",
            "G='" + Cli.repoLauncher() + "'; " + script);
    }

    @Test
    void aFolderInTheFileSpaceIsValidOnEveryNode() {
        var r = onNode2("mkdir -p /gestalt/work-place && cd /gestalt/work-place && for n in node1 node2 node3; do "
            + "\"$G\" run -n $n -- pwd; done");
        assertEquals("/gestalt/work-place\n".repeat(3), r.out(), r::describe);
    }

    @Test
    void aFolderOnlyOneNodeHasDecidesWhereTheProcessRuns() {
        // a top-level folder of node2's own root: the other nodes do not have it
        var r = onNode2("mkdir -p /only-on-node2 && cd /only-on-node2 && for i in 1 2 3 4 5 6; do "
            + "\"$G\" run -- sh -c 'pwd; grep -o \"v[0-9]*:\" /proc/self/net/dev'; done; rmdir /only-on-node2");
        assertEquals(0, r.exitCode(), r::describe);
        assertEquals("/only-on-node2\nv2:\n".repeat(6), r.out().replaceAll("g[0-9a-f]+v", "v"), r::describe);
    }

    /**
     * Another node checks the folder as the process starts (no round trip before it); when it
     * lacks it, the process is placed again, and nothing of it is lost on the way: its input
     * arrives once, its output and exit code come back, detached or not. --explain shows each
     * refusal, so the test sees that placements were retried.
     */
    @Test
    void aProcessRefusedForItsFolderIsPlacedAgainWithNothingLost() {
        var r = onNode2("mkdir -p /only-on-node2d && cd /only-on-node2d && for i in 1 2 3 4 5 6; do "
            + "echo in-$i | \"$G\" run --explain -- sh -c 'cat; pwd; grep -o \"v[0-9]*:\" /proc/self/net/dev; exit 3'; "
            + "echo \"exit $?\"; done; g=$(\"$G\" run -d -- sh -c 'pwd; echo detached'); \"$G\" wait $g; echo \"wait $?\"; "
            + "\"$G\" logs $g; cd /; rmdir /only-on-node2d");
        StringBuilder expected = new StringBuilder();
        for (int i = 1; i <= 6; i++) {
            expected.append("in-").append(i).append("\n/only-on-node2d\nv2:\nexit 3\n");
        }
        expected.append("wait 0\n/only-on-node2d\ndetached\n");
        assertEquals(expected.toString(), r.out().replaceAll("g[0-9a-f]+v", "v"), r::describe);
        // least-loaded placement spreads six runs: some went to node1 or node3 first, were refused there, and moved
        assertTrue(r.stderr().contains("has no folder /only-on-node2d"), r::describe);
    }

    @Test
    void forallPlacesEachTaskWhereItsFolderIs() {
        var r = onNode2("mkdir -p /only-on-node2c && cd /only-on-node2c && \"$G\" forall -j 6 -q sh -c "
            + "'pwd; grep -o \"v[0-9]*:\" /proc/self/net/dev' ::: 1 2 3 4 5 6; echo \"exit $?\"; rmdir /only-on-node2c");
        assertEquals("/only-on-node2c\nv2:\n".repeat(6) + "exit 0\n", r.out().replaceAll("g[0-9a-f]+v", "v"), r::describe);
    }

    @Test
    void aProcessPinnedToANodeWithoutItsFolderIsRefusedNamingIt() {
        var r = onNode2("mkdir -p /only-on-node2b && cd /only-on-node2b && \"$G\" run -n node3 -- pwd; echo \"exit $?\"; "
            + "rmdir /only-on-node2b");
        assertTrue(r.out().endsWith("exit 255\n"), r::describe);
        assertTrue(r.stderr().contains("node3 has no folder /only-on-node2b"), r::describe);
    }
}

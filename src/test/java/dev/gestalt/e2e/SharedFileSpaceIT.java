package dev.gestalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.gestalt.testkit.Eventually;
import dev.gestalt.testkit.LocalClusterFixture;
import dev.gestalt.testkit.Procs;
import dev.gestalt.testkit.TinyJson;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Bring your own: a root local cluster whose nodes are configured with {@code files.engine =
 * shared} on a folder of the host (which every node sees, as an NFS mount would be seen). Each
 * node leaves a marker there at start; when one node stops seeing the same tree (here: a tmpfs
 * mounted over the folder inside node3's mount namespace), that node's fs status reports the
 * nodes whose markers it cannot see.
 */
@Tag("e2e")
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class SharedFileSpaceIT {

    @RegisterExtension
    static final LocalClusterFixture cluster = LocalClusterFixture.perClass(3);

    @SuppressWarnings("unchecked")
    private static Map<String, Object> status(int node) {
        var r = cluster.cli(node).run("fs", "status", "--json");
        assertEquals(0, r.exitCode(), r::describe);
        return (Map<String, Object>) TinyJson.parse(r.out());
    }

    @Test
    void everyNodeSeesTheSameTreeUntilOneDoesNotAndThatIsReported() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "a root local cluster");
        Path tree = Files.createTempDirectory(Path.of("/tmp"), "gst-shared-");
        try {
            for (int i = 1; i <= 3; i++) {
                cluster.stop(i);
            }
            for (int i = 1; i <= 3; i++) {
                String conf = Files.readString(cluster.config(i))
                    .replaceAll("files.engine = .*", "files.engine = shared")
                    .replaceAll("files.mount = .*", "files.mount = " + tree);
                Files.writeString(cluster.config(i), conf);
            }
            var up = cluster.restart();
            assertEquals(0, up.exitCode(), up::describe);
            Map<String, Object> st = status(1);
            assertEquals("shared", st.get("engine"));
            assertEquals("ok", st.get("health"), st::toString);
            assertEquals(3, ((List<?>) st.get("nodes")).size());
            var r = cluster.cli(1).withCwd(Path.of("/tmp")).run("run", "-n", "node2", "--", "sh", "-c",
                "echo shared > " + tree + "/f && cat " + tree + "/f");
            assertEquals("shared\n", r.out(), r::describe);

            var cover = Procs.exec(30, "nsenter", "-t", Long.toString(cluster.pid(3)), "-m", "--",
                "mount", "-t", "tmpfs", "gst-other-tree", tree.toString());
            assertEquals(0, cover.exitCode(), cover.stderr());
            Eventually.holds(Duration.ofSeconds(30), "node3 reports the tree it sees is not the others'", () -> {
                Map<String, Object> s3 = status(3);
                return "degraded".equals(s3.get("health"))
                    && ((String) s3.get("detail")).contains("node1, node2");
            });
            var text = cluster.cli(3).run("fs", "status");
            assertTrue(text.out().contains("does not see the same tree as node3: node1, node2"), text::describe);
            assertEquals("ok", status(1).get("health"), "node1 still sees every marker, node3's included");
        } finally {
            try (var s = Files.walk(tree)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}

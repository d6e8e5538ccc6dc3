package dev.gestalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.gestalt.testkit.Eventually;
import dev.gestalt.testkit.LocalClusterFixture;
import dev.gestalt.testkit.TinyJson;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.parallel.ResourceLock;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A daemon holding another cluster's credentials cannot join. The impostor
 * has everything but the CA: the same cluster name (so JGroups would group
 * them), the same node names and ids, and the real cluster's gossip port as
 * its seed. Only TLS with the cluster CA keeps it out. Both clusters run on loopback
 * (GESTALT_LOCAL_HOSTS=0): on hosts of their own, each in its own network, the impostor could
 * not even reach the cluster, and the test would prove nothing.
 */
@Tag("e2e")
@Execution(ExecutionMode.CONCURRENT) // beside the other classes, on a cluster of its own (pom.xml: failsafe)
@ResourceLock("ForeignClusterIT") // its own tests one after another
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class ForeignClusterIT {

    @RegisterExtension
    static final LocalClusterFixture cluster = LocalClusterFixture.perClassOnLoopback(3);

    private static String conf(java.nio.file.Path file, String key) throws Exception {
        Matcher m = Pattern.compile("(?m)^" + key + "\\s*=\\s*(.*)$").matcher(Files.readString(file));
        if (!m.find()) {
            throw new AssertionError(key + " not in " + file);
        }
        return m.group(1).trim();
    }

    private static List<Map<String, Object>> nodes(LocalClusterFixture c) {
        var r = c.cli(1).run("nodes", "--json");
        assertEquals(0, r.exitCode(), r::describe);
        return TinyJson.rows(r.out());
    }

    @Test
    void aDaemonWithAnotherCasCredentialsCannotJoin() throws Exception {
        Set<String> ours = nodes(cluster).stream().map(m -> (String) m.get("address")).collect(Collectors.toSet());
        assertEquals(3, ours.size());
        String seed = "127.0.0.1:" + conf(cluster.config(1), "gossip_port");
        try (var impostor = LocalClusterFixture.startOnLoopback(1, cluster.name())) {
            impostor.stop(1);
            String conf = Files.readString(impostor.config(1));
            Files.writeString(impostor.config(1), conf.replaceFirst("(?m)^seeds\\s*=\\s*(.*)$", "seeds = " + seed + ",$1"));
            var up = impostor.restart();
            assertEquals(0, up.exitCode(), up::describe);
            String impostorAddress = "127.0.0.1:" + conf(impostor.config(1), "rpc_port");

            Eventually.stays(Duration.ofSeconds(20), "the cluster lists only its own 3 nodes, never the impostor at "
                + impostorAddress, () -> {
                    var rows = nodes(cluster);
                    return rows.size() == 3 && rows.stream().allMatch(m -> ours.contains((String) m.get("address")));
                });
            var theirs = nodes(impostor);
            assertEquals(1, theirs.size(), "the impostor sees only itself: " + theirs);
            assertEquals(impostorAddress, theirs.getFirst().get("address"));

            var run = cluster.cli(1).run("forall", "--", "echo", ":::", "a", "b", "c", "d", "e", "f");
            assertEquals(0, run.exitCode(), "the cluster still works: " + run.describe());
        }
    }
}

package dev.gestalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gestalt.testkit.LocalClusterFixture;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.parallel.ResourceLock;

/**
 * What {@code cluster up} promises (issue 8 item 3): when it says the cluster is up, queries
 * and work reach every node at once; when a node stops while it waits, it says which and why.
 */
@Tag("e2e")
@Execution(ExecutionMode.CONCURRENT) // beside the other classes, on a cluster of its own (pom.xml: failsafe)
@ResourceLock("ClusterUpIT") // its own tests one after another
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class ClusterUpIT {

    @Test
    void rightAfterUpEveryNodeAnswersQueriesAndTakesWork() {
        try (var c = LocalClusterFixture.startOnLoopback(3)) {
            for (int from = 1; from <= 3; from++) {
                var ps = c.cli(from).run("ps");
                assertEquals(0, ps.exitCode(), ps::describe);
                assertEquals("", ps.stderr(), "every node answers: " + ps.describe());
                for (int to = 1; to <= 3; to++) {
                    var r = c.cli(from).run("run", "-n", "node" + to, "--", "echo", "ok");
                    assertEquals("ok\n", r.out(), r::describe);
                }
            }
        }
    }

    @Test
    void aNodeThatStopsWhileUpWaitsIsNamed() throws Exception {
        try (var c = LocalClusterFixture.startOnLoopback(2)) {
            c.stop(2);
            Matcher m = Pattern.compile("(?m)^rpc_port = (\\d+)$").matcher(Files.readString(c.config(2)));
            assertTrue(m.find());
            // node2's RPC port is taken: its daemon starts, fails to bind, and exits
            try (var taken = new ServerSocket(Integer.parseInt(m.group(1)), 1, InetAddress.getByName("127.0.0.1"))) {
                var up = c.restart();
                assertEquals(1, up.exitCode(), up::describe);
                assertTrue(up.stderr().contains("gestalt cluster: node2 stopped while the cluster was starting"), up::describe);
                assertTrue(up.stderr().contains("gestalt node: cannot start node2"), "the end of its log: " + up.describe());
                assertTrue(up.stderr().endsWith("gestalt cluster: node2 stopped; the cluster is not up\n"), up::describe);
                assertFalse(up.stderr().contains("within"), "not a timeout: " + up.describe());
            }
            var again = c.restart();
            assertEquals(0, again.exitCode(), "with the port free it comes up: " + again.describe());
        }
    }
}

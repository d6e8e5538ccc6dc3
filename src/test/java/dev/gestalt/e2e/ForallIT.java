package dev.gestalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gestalt.testkit.Cli;
import dev.gestalt.testkit.LocalClusterFixture;
import dev.gestalt.testkit.Eventually;
import dev.gestalt.testkit.TinyJson;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@code gestalt forall}: GNU parallel's syntax over the cluster. */
@Tag("e2e")
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class ForallIT {

    @RegisterExtension
    static final LocalClusterFixture cluster = LocalClusterFixture.shared(3);

    private static Cli cli() {
        return cluster.cli(1);
    }

    @Test
    void keepOrderAndTag() {
        // later arguments finish first: -k must still print in argument order
        var r = cli().run("forall", "-k", "--tag", "--", "sh", "-c", "sleep 0.$((6-{})); echo t{}; echo e{} >&2",
            ":::", "1", "2", "3", "4", "5");
        assertEquals(0, r.exitCode(), r::describe);
        assertEquals("1\tt1\n2\tt2\n3\tt3\n4\tt4\n5\tt5\n", r.out());
        assertEquals("1\te1\n2\te2\n3\te3\n4\te4\n5\te5\n", r.stderr());
    }

    @Test
    void exitCodeIsTheNumberOfFailedTasks() {
        var r = cli().run("forall", "--", "sh", "-c", "exit $(({} % 2))", ":::", "1", "2", "3", "4", "5");
        assertEquals(3, r.exitCode(), r::describe);
    }

    @Test
    void stdinLinesAreTheArguments() {
        var r = cli().run("a\nb c\n\nd\n".getBytes(StandardCharsets.UTF_8), "forall", "-k", "--", "echo", "x");
        assertEquals(0, r.exitCode(), r::describe);
        assertEquals("x a\nx b c\nx d\n", r.out());
    }

    @Test
    void twoHundredTasksAllRun() {
        List<String> cmd = new ArrayList<>(List.of("forall", "--", "echo", "task-{}", ":::"));
        IntStream.rangeClosed(1, 200).forEach(i -> cmd.add(Integer.toString(i)));
        var r = cli().run(cmd.toArray(String[]::new));
        assertEquals(0, r.exitCode(), r::describe);
        List<String> lines = r.out().lines().sorted().toList();
        List<String> expected = IntStream.rangeClosed(1, 200).mapToObj(i -> "task-" + i).sorted().toList();
        assertEquals(expected, lines);
    }

    @Test
    void tasksAreSpreadOverTheCluster() {
        cluster.awaitIdle(0.2);
        var forall = cli().start("forall", "-j", "6", "--", "sleep", "16.{}", ":::", "1", "2", "3", "4", "5", "6");
        Set<Object> nodes = new HashSet<>();
        Eventually.holds(Duration.ofSeconds(60), "6 parallel tasks run on all 3 nodes (seen: " + nodes + ")", () -> {
            var ps = cli().run("ps", "--json");
            TinyJson.rows(ps.out()).stream()
                .filter(m -> String.valueOf(m.get("command")).matches("sleep 16\\.[1-6]"))
                .forEach(m -> nodes.add(m.get("node")));
            return nodes.size() == 3 || !forall.isAlive();
        });
        assertEquals(Set.of("node1", "node2", "node3"), nodes);
        var r = forall.await(Duration.ofSeconds(90));
        assertEquals(0, r.exitCode(), r::describe);
    }
}

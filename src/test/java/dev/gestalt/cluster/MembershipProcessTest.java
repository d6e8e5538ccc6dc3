package dev.gestalt.cluster;

import static dev.gestalt.cluster.TestNodes.await;
import static dev.gestalt.cluster.TestNodes.freePort;
import static dev.gestalt.cluster.TestNodes.issue;
import static dev.gestalt.cluster.TestNodes.seeds;
import static dev.gestalt.cluster.TestNodes.viewOf;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.gestalt.security.ClusterCa;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A member in another JVM ({@link MembershipProbe}) that crashes ({@code SIGKILL}) or freezes
 * ({@code SIGSTOP}) leaves this JVM's view within 10 s; a frozen one rejoins after {@code SIGCONT}.
 */
class MembershipProcessTest {

    @TempDir Path tmp;
    private final TestNodes nodes = new TestNodes();
    private final List<Process> processes = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (Process p : processes) {
            signal(p, "CONT");
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        nodes.close();
    }

    @Test
    void probeRefusesBadUsage() throws Exception {
        var err = new ByteArrayOutputStream();
        var sink = new PrintStream(new ByteArrayOutputStream());
        assertEquals(2, MembershipProbe.run(new String[] {"n"}, sink, new PrintStream(err)));
        assertEquals(2, MembershipProbe.run(new String[] {"n", "1", "127.0.0.1:1", tmp.resolve("none").toString()},
                sink, new PrintStream(err)));
    }

    @ParameterizedTest
    @ValueSource(strings = {"KILL", "STOP"})
    void remoteMemberThatCrashesOrFreezesLeavesWithin10s(String sig) throws Exception {
        ClusterCa ca = ClusterCa.create(tmp.resolve("ca"));
        int pa = freePort();
        int pp = freePort();
        Membership a = nodes.start("proc", "a", 1, pa, seeds(pa, pp), issue(ca, "a", 1, tmp));
        issue(ca, "p", 2, tmp);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        var pb = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                MembershipProbe.class.getName(), "p", "2", "127.0.0.1:" + pp, tmp.resolve("p").toString(),
                "127.0.0.1:" + pa, "127.0.0.1:" + pp)
                .redirectErrorStream(true).redirectOutput(tmp.resolve("probe.log").toFile());
        pb.environment().put("GESTALT_CLUSTER", "proc");
        Process p = pb.start();
        processes.add(p);
        await(Duration.ofSeconds(30), "the probe joins", () -> viewOf(a).equals(Set.of("a", "p")));
        await(Duration.ofSeconds(10), "the probe's load arrives", () -> a.loadTable().containsKey("p"));

        signal(p, sig);
        Duration out = await(MembershipTlsTest.DETECTION_BOUND, "SIG" + sig + " member leaves the view",
                () -> viewOf(a).equals(Set.of("a")));
        System.out.printf("[membership] SIG%s member in another JVM out of the view in %d ms%n", sig, out.toMillis());
        if (sig.equals("STOP")) {
            signal(p, "CONT");
            Duration back = await(Duration.ofSeconds(60), "the resumed member merges back",
                    () -> viewOf(a).equals(Set.of("a", "p")));
            System.out.printf("[membership] SIGCONT member merged back in %d ms%n", back.toMillis());
        }
    }

    private static void signal(Process p, String sig) throws Exception {
        if (p.isAlive()) {
            new ProcessBuilder("kill", "-" + sig, Long.toString(p.pid())).inheritIO().start().waitFor();
        }
    }
}

package dev.gestalt.cluster;

import static dev.gestalt.cluster.TestNodes.await;
import static dev.gestalt.cluster.TestNodes.freePort;
import static dev.gestalt.cluster.TestNodes.issue;
import static dev.gestalt.cluster.TestNodes.seeds;
import static dev.gestalt.cluster.TestNodes.viewOf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gestalt.security.ClusterCa;
import dev.gestalt.security.NodeCredentials;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jgroups.JChannel;
import org.jgroups.protocols.DISCARD;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Real JGroups channels over loopback TCP with TLS credentials from a {@link ClusterCa}.
 * Detection and merge times are printed, not asserted, except the 10 s failure-detection bound.
 */
class MembershipTlsTest {

    static final Duration DETECTION_BOUND = Duration.ofSeconds(10);

    @TempDir static Path tmp;
    static ClusterCa ca;
    static ClusterCa otherCa;

    private final TestNodes nodes = new TestNodes();

    @BeforeAll
    static void cas() throws Exception {
        ca = ClusterCa.create(tmp.resolve("ca"));
        otherCa = ClusterCa.create(tmp.resolve("other-ca"));
    }

    @AfterEach
    void stop() {
        nodes.close();
    }

    private final int[] ports = new int[3];

    private List<Membership> three(String cluster) throws Exception {
        for (int i = 0; i < 3; i++) {
            ports[i] = freePort();
        }
        var seeds = seeds(ports);
        long t0 = System.nanoTime();
        Membership a = nodes.start(cluster, "a", 1, ports[0], seeds, issue(ca, "a", 1, tmp));
        Membership b = nodes.start(cluster, "b", 2, ports[1], seeds, issue(ca, "b", 2, tmp));
        Membership c = nodes.start(cluster, "c", 3, ports[2], seeds, issue(ca, "c", 3, tmp));
        var all = List.of(a, b, c);
        await(Duration.ofSeconds(20), "a view of 3",
                () -> all.stream().allMatch(m -> viewOf(m).equals(Set.of("a", "b", "c"))));
        System.out.printf("[membership] 3 TLS members formed one view in %d ms%n", (System.nanoTime() - t0) / 1_000_000);
        await(Duration.ofSeconds(10), "every member holds a report of every member",
                () -> all.stream().allMatch(m -> m.loadTable().keySet().equals(Set.of("a", "b", "c"))));
        return all;
    }

    @Test
    void threeMembersFormAViewAndSeeEachOthersLoad() throws Exception {
        var all = three("view3");
        await(Duration.ofSeconds(10), "every member holds a fresh report of every member", () -> all.stream()
                .allMatch(m -> {
                    Map<String, LoadEntry> t = m.loadTable();
                    return t.keySet().equals(Set.of("a", "b", "c"))
                            && t.values().stream().allMatch(e -> e.inView() && e.age().compareTo(Duration.ofSeconds(3)) < 0);
                }));
        LoadEntry cSeenByA = all.get(0).loadTable().get("c");
        assertEquals(3, cSeenByA.report().nodeId());
        assertEquals(0.75, cSeenByA.report().load());
        assertEquals("127.0.0.1:" + (ports[2] + 1), cSeenByA.report().rpcAddress());
        assertTrue(all.get(0).isMember("c"));
        assertFalse(all.get(0).isMember("z"));
    }

    @Test
    void gracefulLeaveIsSeenFastAndTheRowStays() throws Exception {
        var all = three("leave");
        Membership a = all.get(0);
        Membership c = all.get(2);
        await(Duration.ofSeconds(10), "a has c's report", () -> a.loadTable().containsKey("c"));
        long t0 = System.nanoTime();
        c.close();
        long closeMs = (System.nanoTime() - t0) / 1_000_000;
        Duration d = await(DETECTION_BOUND, "c leaves a's and b's views",
                () -> viewOf(a).equals(Set.of("a", "b")) && viewOf(all.get(1)).equals(Set.of("a", "b")));
        System.out.printf("[membership] graceful leave: close() took %d ms, seen %d ms after it returned%n",
                closeMs, d.toMillis());
        LoadEntry row = a.loadTable().get("c");
        assertFalse(row.inView(), "a node that left stays in the table, marked not in view");
        assertTrue(a.loadTable().get("b").inView());
    }

    /** Isolates the coordinator ("a") or a plain member ("c"): the others drop it within 10 s; after healing all merge. */
    @ParameterizedTest
    @ValueSource(strings = {"a", "c"})
    void isolatedMemberLeavesWithin10sAndMergesBack(String victim) throws Exception {
        var all = three("partition-" + victim);
        Membership isolated = all.stream().filter(m -> m.nodeName().equals(victim)).findFirst().orElseThrow();
        var rest = all.stream().filter(m -> m != isolated).toList();
        Set<String> restNames = Set.of(rest.get(0).nodeName(), rest.get(1).nodeName());
        DISCARD discard = TestNodes.isolate(isolated);
        Duration out = await(DETECTION_BOUND, "isolated " + victim + " leaves the others' views",
                () -> rest.stream().allMatch(m -> viewOf(m).equals(restNames)));
        System.out.printf("[membership] isolated (frozen-like) %s out of the others' views in %d ms%n",
                victim.equals("a") ? "coordinator" : "member", out.toMillis());
        await(DETECTION_BOUND, victim + " sees itself alone", () -> viewOf(isolated).equals(Set.of(victim)));
        assertFalse(rest.get(0).loadTable().get(victim).inView());

        discard.discardAll(false);
        Duration merge = await(Duration.ofSeconds(60), "views merge back to 3",
                () -> all.stream().allMatch(m -> viewOf(m).equals(Set.of("a", "b", "c"))));
        System.out.printf("[membership] partition healed: merged back to 3 in %d ms%n", merge.toMillis());
        await(Duration.ofSeconds(10), victim + " back in the others' tables",
                () -> rest.stream().allMatch(m -> m.loadTable().get(victim).inView()));
    }

    /**
     * A process holding c's certificate (id 3) that calls itself x (id 9) in the group: every message
     * it sends is dropped by the others' transport, so it can neither join nor gossip.
     */
    @Test
    void aNodeIsOnlyWhoItsCertificateSays() throws Exception {
        int pa = freePort();
        int pb = freePort();
        int px = freePort();
        var seeds = seeds(pa, pb, px);
        Membership a = nodes.start("bound", "a", 1, pa, seeds, issue(ca, "a", 1, tmp));
        Membership b = nodes.start("bound", "b", 2, pb, seeds, issue(ca, "b", 2, tmp));
        await(Duration.ofSeconds(20), "a and b form a view", () -> viewOf(a).equals(Set.of("a", "b")));
        var cfg = new MembershipConfig("bound", "c", 3, TestNodes.LOOPBACK, px, seeds, issue(ca, "c", 3, tmp), "", null);
        var impostor = new JChannel(ChannelStack.protocols(cfg)).name("x");
        impostor.addAddressGenerator(NodeAddresses.generator("x", 9));
        try {
            impostor.connect("bound");
            Thread.sleep(8_000); // several join attempts and MERGE3 rounds
            assertEquals(1, impostor.getView().size(), "the impostor is alone: " + impostor.getView());
            assertEquals(Set.of("a", "b"), nodes.everSeen.get("a"), "no view of a ever held x");
            assertEquals(Set.of("a", "b"), nodes.everSeen.get("b"), "no view of b ever held x");
            assertFalse(a.loadTable().containsKey("x"));
        } finally {
            impostor.close();
        }
    }

    /** Revoking c (its revocation list copied to a and b) drops it from the view, and a restarted c cannot join. */
    @Test
    void aRevokedMemberIsDroppedAndCannotComeBack() throws Exception {
        var all = three("revoked");
        Membership a = all.get(0);
        Membership b = all.get(1);
        ca.revoke("c");
        for (String n : List.of("a", "b")) {
            Files.copy(ca.crlFile(), tmp.resolve(n).resolve("crl.pem"), StandardCopyOption.REPLACE_EXISTING);
        }
        Duration out = await(Duration.ofSeconds(20), "a and b drop the revoked c",
                () -> viewOf(a).equals(Set.of("a", "b")) && viewOf(b).equals(Set.of("a", "b")));
        System.out.printf("[membership] revoked member out of the view %d ms after the list landed%n", out.toMillis());
        all.get(2).close();
        var seenBefore = Set.copyOf(nodes.everSeen.get("a"));
        nodes.everSeen.get("a").clear();
        // c restarts with its (revoked) credentials: it has no copy of the list, as a thief would not
        var cfg = new MembershipConfig("revoked", "c", 3, TestNodes.LOOPBACK, ports[2], seeds(ports),
                new dev.gestalt.security.NodeCredentials(tmp.resolve("c")), "", Duration.ofMillis(500));
        Files.deleteIfExists(tmp.resolve("c").resolve("crl.pem"));
        try (Membership again = Membership.start(cfg, () -> TestNodes.report("c", 3), MembershipListener.NONE)) {
            Thread.sleep(8_000);
            assertEquals(List.of("c"), again.view(), "the revoked node is alone");
            assertFalse(nodes.everSeen.get("a").contains("c"), "no view of a held c again: " + nodes.everSeen.get("a"));
            assertTrue(seenBefore.contains("c"));
        }
    }

    /**
     * A twin of x (same credentials) that found nobody at its start (its only seed is itself) forms
     * a group of its own, which MERGE3 then finds: the merge view with two x's is dropped by both
     * coordinators, no member ever installs it, and the twin (the smaller group) is told to go.
     */
    @Test
    void aTwinThatFormedAGroupOfItsOwnIsNeverMergedIn() throws Exception {
        int px = freePort();
        int pb = freePort();
        int pt = freePort();
        NodeCredentials xCreds = issue(ca, "x", 4, tmp);
        Membership x = nodes.start("twins", "x", 4, px, seeds(px, pb, pt), xCreds);
        Membership b = nodes.start("twins", "b", 2, pb, seeds(px, pb, pt), issue(ca, "b", 2, tmp));
        await(Duration.ofSeconds(20), "x and b form a group", () -> viewOf(x).equals(Set.of("x", "b")));
        var refused = new CompletableFuture<String>();
        var cfg = new MembershipConfig("twins", "x", 4, TestNodes.LOOPBACK, pt, seeds(pt), xCreds, "", Duration.ofMillis(500));
        try (Membership twin = Membership.start(cfg, () -> TestNodes.report("x", 4), new MembershipListener() {
            @Override
            public void onView(Set<String> members, Set<String> joined, Set<String> left) {}

            @Override
            public void onRefused(String reason) {
                refused.complete(reason);
            }
        })) {
            assertEquals(List.of("x"), twin.view(), "the twin found nobody at its start");
            assertEquals("a node named x is already in the view", refused.get(60, TimeUnit.SECONDS));
            assertEquals(List.of("x", "b"), x.view());
            assertEquals(Set.of("x", "b"), nodes.everSeen.get("x"));
            assertEquals(List.of("x", "b"), b.view(), "b never installed a view with two x's");
        }
    }

    @Test
    void memberWithAnotherCasCredentialsCannotJoin() throws Exception {
        int pa = freePort();
        int pb = freePort();
        int px = freePort();
        var seeds = seeds(pa, pb, px);
        Membership a = nodes.start("guarded", "a", 1, pa, seeds, issue(ca, "a", 1, tmp));
        Membership b = nodes.start("guarded", "b", 2, pb, seeds, issue(ca, "b", 2, tmp));
        await(Duration.ofSeconds(20), "a and b form a view", () -> viewOf(a).equals(Set.of("a", "b")));
        Membership x = nodes.start("guarded", "x", 9, px, seeds, otherCa.issueNode("x", 9, List.of(), tmp.resolve("x-other")));
        // Several MERGE3 rounds (1-3 s each) and gossip rounds: time enough for a join or merge to happen.
        Thread.sleep(8_000);
        assertEquals(Set.of("x"), viewOf(x));
        assertEquals(Set.of("a", "b"), viewOf(a));
        assertEquals(Set.of("a", "b"), viewOf(b));
        assertEquals(Set.of("a", "b"), nodes.everSeen.get("a"), "no view of a ever held x");
        assertEquals(Set.of("a", "b"), nodes.everSeen.get("b"), "no view of b ever held x");
        assertEquals(Set.of("x"), nodes.everSeen.get("x"), "no view of x ever held a or b");
        assertFalse(a.loadTable().containsKey("x"), "no gossip from a foreign node reaches the table");
        assertFalse(x.loadTable().containsKey("a"), "no gossip reaches the foreign node");
    }
}

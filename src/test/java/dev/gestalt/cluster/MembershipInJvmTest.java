package dev.gestalt.cluster;

import static dev.gestalt.cluster.TestNodes.await;
import static dev.gestalt.cluster.TestNodes.viewOf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.jgroups.BytesMessage;
import org.jgroups.JChannel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The same membership on JGroups' in-JVM SHARED_LOOPBACK transport (no credentials): fast protocol tests. */
class MembershipInJvmTest {

    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    private Membership start(String cluster, String name, int id, MembershipListener l) throws Exception {
        var cfg = new MembershipConfig(cluster, name, id, null, 0, null, null, "rpc-" + name, Duration.ofMillis(200));
        Membership m = Membership.start(cfg, () -> TestNodes.report("ignored", 0), l);
        open.add(m);
        return m;
    }

    @Test
    void listenerSeesJoinsAndLeavesInOrderAndIdentityIsStampedFromConfig() throws Exception {
        record Change(Set<String> members, Set<String> joined, Set<String> left) {}
        var changes = new CopyOnWriteArrayList<Change>();
        Membership a = start("jvm-listen", "a", 1, (m, j, l) -> changes.add(new Change(m, j, l)));
        Membership b = start("jvm-listen", "b", 2, MembershipListener.NONE);
        await(Duration.ofSeconds(10), "a sees b", () -> viewOf(a).equals(Set.of("a", "b")));
        await(Duration.ofSeconds(5), "a has b's report", () -> a.loadTable().containsKey("b"));
        LoadReport rb = a.loadTable().get("b").report();
        assertEquals("b", rb.node(), "the node name comes from the config, not from the supplier");
        assertEquals(2, rb.nodeId());
        assertEquals("rpc-b", rb.rpcAddress());
        b.close();
        await(Duration.ofSeconds(10), "a sees b leave", () -> changes.size() >= 3);
        assertEquals(new Change(Set.of("a"), Set.of("a"), Set.of()), changes.get(0));
        assertEquals(new Change(Set.of("a", "b"), Set.of("b"), Set.of()), changes.get(1));
        assertEquals(new Change(Set.of("a"), Set.of(), Set.of("b")), changes.get(2));
        assertFalse(a.loadTable().get("b").inView());
        assertEquals(List.of("a"), a.view());
    }

    @Test
    void aMemberCannotWriteAnotherNodesRow() throws Exception {
        Membership a = start("jvm-spoof", "a", 1, MembershipListener.NONE);
        var cfg = new MembershipConfig("jvm-spoof", "mallory", 6, null, 0, null, null, "", null);
        var mallory = new JChannel(ChannelStack.protocols(cfg)).name("mallory");
        mallory.addAddressGenerator(NodeAddresses.generator("mallory", 6));
        open.add(mallory);
        mallory.connect("jvm-spoof");
        await(Duration.ofSeconds(10), "mallory joins", () -> a.isMember("mallory"));
        for (int i = 0; i < 5; i++) {
            mallory.send(new BytesMessage(null, TestNodes.report("ghost", 7).toBytes()));
            mallory.send(new BytesMessage(null, TestNodes.report("a", 7).toBytes()));
            mallory.send(new BytesMessage(null, new byte[] {9, 9, 9}));
        }
        mallory.send(new BytesMessage(null, TestNodes.report("mallory", 7).toBytes()));
        mallory.send(new BytesMessage(null, TestNodes.report("mallory", 6).toBytes()));
        await(Duration.ofSeconds(5), "mallory's own report arrives", () -> a.loadTable().containsKey("mallory"));
        assertFalse(a.loadTable().containsKey("ghost"));
        assertEquals(1, a.loadTable().get("a").report().nodeId(), "a's own row is a's");
        assertEquals(6, a.loadTable().get("mallory").report().nodeId(), "a report under another id is dropped");
    }

    /** A raw channel on Gestalt's stack whose member address names {@code name} and {@code id}. */
    private JChannel channel(String cluster, String name, int id) throws Exception {
        var cfg = new MembershipConfig(cluster, name, id, null, 0, null, null, "", null);
        var ch = new JChannel(ChannelStack.protocols(cfg)).name(name);
        ch.addAddressGenerator(NodeAddresses.generator(name, id));
        open.add(ch);
        return ch;
    }

    @Test
    void aJoinUnderANameOrAnIdAlreadyInTheViewIsRefusedWithTheReason() throws Exception {
        Membership a = start("jvm-dup", "a", 1, MembershipListener.NONE);
        var twin = channel("jvm-dup", "a", 5);
        var e = assertThrows(SecurityException.class, () -> twin.connect("jvm-dup"));
        assertTrue(e.getMessage().contains("a node named a is already in the view"), e.getMessage());
        var clash = channel("jvm-dup", "z", 1);
        e = assertThrows(SecurityException.class, () -> clash.connect("jvm-dup"));
        assertTrue(e.getMessage().contains("already has id 1"), e.getMessage());
        var anonymous = new JChannel(ChannelStack.protocols(
            new MembershipConfig("jvm-dup", "anon", 8, null, 0, null, null, "", null))).name("anon");
        open.add(anonymous);
        e = assertThrows(SecurityException.class, () -> anonymous.connect("jvm-dup"));
        assertTrue(e.getMessage().contains("without a node name and id"), e.getMessage());
        Membership b = start("jvm-dup", "b", 2, MembershipListener.NONE);
        await(Duration.ofSeconds(10), "a node with a name and id of its own joins", () -> viewOf(a).equals(Set.of("a", "b")));
        assertEquals(List.of("a", "b"), a.view());
        assertTrue(b.isMember("a"));
    }

    @Test
    void gossipKeepsAgesBelowAFewIntervals() throws Exception {
        Membership a = start("jvm-age", "a", 1, MembershipListener.NONE);
        Membership b = start("jvm-age", "b", 2, MembershipListener.NONE);
        await(Duration.ofSeconds(10), "both see each other's report",
                () -> a.loadTable().containsKey("b") && b.loadTable().containsKey("a"));
        Thread.sleep(1_000);
        // Interval 200 ms: a row older than 1 s would mean gossip stopped.
        assertTrue(a.loadTable().get("b").age().compareTo(Duration.ofSeconds(1)) < 0, a.loadTable().toString());
        assertTrue(b.loadTable().get("a").age().compareTo(Duration.ofSeconds(1)) < 0, b.loadTable().toString());
        assertTrue(a.loadTable().get("a").inView());
    }
}

package dev.gestalt.process.placement;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gestalt.rpc.GestaltException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class LeastLoadedTest {

    private static NodeLoad node(String name, int id, int cpus, double load, long freeMiB, int procs) {
        return new NodeLoad(name, id, cpus, load, freeMiB << 20, 16L << 30, procs, 0, 100);
    }

    private final LeastLoaded policy = new LeastLoaded(new Random(42));

    @Test
    void picksTheLowestLoadPerCpu() throws Exception {
        var nodes = List.of(node("a", 1, 2, 1.5, 4000, 3), node("b", 2, 8, 2.0, 4000, 3), node("c", 3, 2, 0.9, 4000, 1));
        Placement p = policy.place(PlacementRequest.ANY, nodes, new InFlight());
        assertEquals("b", p.node(), "8 CPUs with load 2 is the least loaded per CPU");
        assertTrue(p.explanation().contains("least loaded of all 3"), p.explanation());
        assertTrue(p.explanation().lines().anyMatch(l -> l.contains("b") && l.endsWith("*")), p.explanation());
    }

    @Test
    void aBurstIsSpreadByCountingPlacementsInFlightUntilTheyAge() throws Exception {
        var nodes = List.of(node("a", 1, 2, 0, 4000, 0), node("b", 2, 2, 0, 4000, 0), node("c", 3, 2, 0, 4000, 0));
        long[] now = {1000};
        var inFlight = new InFlight(() -> now[0]);
        Map<String, Integer> count = new HashMap<>();
        for (int i = 0; i < 30; i++) {
            Placement p = policy.place(PlacementRequest.ANY, nodes, inFlight);
            inFlight.placed(p.node());
            count.merge(p.node(), 1, Integer::sum);
        }
        assertEquals(Map.of("a", 10, "b", 10, "c", 10), count);
        now[0] += InFlight.WINDOW_MILLIS + 1;
        assertEquals(0, inFlight.pending("a"), "placements stop counting once the gossiped load can show them");
    }

    @Test
    void anIdleClusterHasNoFavouriteNode() throws Exception {
        var nodes = List.of(node("a", 1, 2, 0, 4000, 0), node("b", 2, 2, 0, 4000, 0), node("c", 3, 2, 0, 4000, 0));
        Map<String, Integer> first = new HashMap<>();
        for (int i = 0; i < 300; i++) {
            first.merge(policy.place(PlacementRequest.ANY, nodes, new InFlight()).node(), 1, Integer::sum);
        }
        assertEquals(3, first.size(), "every node is sometimes first: " + first);
        first.values().forEach(v -> assertTrue(v > 50, "ties are broken at random: " + first));
    }

    @Test
    void pinningAndConstraints() throws Exception {
        var nodes = List.of(node("a", 1, 2, 0, 100, 0), node("b", 2, 4, 3, 4000, 0));
        assertEquals("b", policy.place(new PlacementRequest("b", 0, 0), nodes, new InFlight()).node());
        assertEquals("a", policy.place(new PlacementRequest("1", 0, 0), nodes, new InFlight()).node(), "pin by id");
        assertEquals("b", policy.place(new PlacementRequest(null, 4, 0), nodes, new InFlight()).node());
        assertEquals("b", policy.place(new PlacementRequest(null, 0, 1L << 30), nodes, new InFlight()).node());
        var e = assertThrows(GestaltException.NoEligibleNode.class,
            () -> policy.place(new PlacementRequest(null, 16, 0), nodes, new InFlight()));
        assertTrue(e.getMessage().contains("a has 2 CPUs"), e.getMessage());
        assertThrows(GestaltException.NoEligibleNode.class, () -> policy.place(new PlacementRequest("zz", 0, 0), nodes, new InFlight()));
        assertThrows(GestaltException.NoEligibleNode.class, () -> policy.place(PlacementRequest.ANY, List.of(), new InFlight()));
        assertEquals(255, new GestaltException.NoEligibleNode("x").exitCode());
    }

    @Test
    void aDrainingNodeGetsNothingNewNotEvenWhenPinned() throws Exception {
        var draining = new NodeLoad("a", 1, 8, 0, 4000L << 20, 16L << 30, 0, 0, 100, true);
        var nodes = List.of(draining, node("b", 2, 2, 1.5, 4000, 9));
        for (int i = 0; i < 20; i++) {
            assertEquals("b", policy.place(PlacementRequest.ANY, nodes, new InFlight()).node(), "idle, but draining");
        }
        var pinned = assertThrows(GestaltException.NoEligibleNode.class,
            () -> policy.place(new PlacementRequest("a", 0, 0), nodes, new InFlight()));
        assertEquals("a is draining: it takes no new processes (gestalt undrain a)", pinned.getMessage());
        var none = assertThrows(GestaltException.NoEligibleNode.class,
            () -> policy.place(PlacementRequest.ANY, List.of(draining), new InFlight()));
        assertTrue(none.getMessage().contains("a is draining"), none.getMessage());
    }

    @Test
    void lowMemoryIsAvoidedAndSoIsAFailedNodeUnlessItIsTheOnlyOne() throws Exception {
        var nodes = List.of(node("a", 1, 2, 0, 100, 0), node("b", 2, 2, 0.5, 4000, 0));
        assertEquals("b", policy.place(PlacementRequest.ANY, nodes, new InFlight()).node());
        assertEquals("a", policy.place(PlacementRequest.ANY.avoiding(Set.of("b")), nodes, new InFlight()).node());
        assertEquals("a", policy.place(PlacementRequest.ANY.avoiding(Set.of("b")), List.of(nodes.getFirst()), new InFlight()).node());
        assertEquals("b", policy.place(PlacementRequest.ANY.avoiding(Set.of("a", "b")), nodes, new InFlight()).node(),
            "when every node is to be avoided, placement still happens");
    }

    @Test
    void largeClustersUseTwoRandomChoicesAndStillFavourIdleNodes() throws Exception {
        List<NodeLoad> nodes = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            nodes.add(node("n" + i, i, 4, i < 50 ? 3.5 : 0.0, 4000, 0));
        }
        int idle = 0;
        for (int i = 0; i < 1000; i++) {
            Placement p = policy.place(PlacementRequest.ANY, nodes, new InFlight());
            if (Integer.parseInt(p.node().substring(1)) >= 50) {
                idle++;
            }
            assertTrue(p.explanation().contains("better of 2 random choices"));
        }
        assertTrue(idle > 700, "two choices pick an idle node 3 times in 4; got " + idle + "/1000");
        assertNotEquals(1000, idle, "it samples, it does not scan");
    }
}

package dev.gestalt.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gestalt.cluster.LoadReport;
import dev.gestalt.cluster.Membership;
import dev.gestalt.cluster.MembershipConfig;
import dev.gestalt.cluster.MembershipListener;
import dev.gestalt.process.placement.LeastLoaded;
import dev.gestalt.process.placement.PlacementRequest;
import dev.gestalt.rpc.GestaltException;
import dev.gestalt.rpc.Peers;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Placement over a real gossiped view: three members on JGroups' in-JVM
 * transport publish loads; any member's process space places on the least
 * loaded, spreads bursts, and never places on a node that left.
 */
class PlacementInJvmClusterTest {

    private final List<AutoCloseable> open = new ArrayList<>();
    private final Map<String, Double> loads = new ConcurrentHashMap<>();

    @TempDir
    Path dir;

    @AfterEach
    void stop() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    private Membership member(String cluster, String name, int id) throws Exception {
        loads.put(name, 0.0);
        var cfg = new MembershipConfig(cluster, name, id, null, 0, null, null, "", Duration.ofMillis(100));
        Membership m = Membership.start(cfg, () -> new LoadReport(name, id, "", "test", 2, loads.get(name),
            8L << 30, 16L << 30, 0, System.currentTimeMillis(), false), MembershipListener.NONE);
        open.add(m);
        return m;
    }

    private ProcessSpace space(Membership m, int id) throws Exception {
        var peers = new Peers(m.nodeName(), "unused-" + m.nodeName(), null, n -> null);
        open.add(peers);
        var space = new ProcessSpace(m.nodeName(), id, m, peers, new GpidAllocator(id, dir.resolve("gpid" + id)),
            new LeastLoaded(new Random(1)), new Placements());
        return space;
    }

    private static void await(String what, BooleanSupplier ok) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!ok.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting until " + what);
            }
            Thread.sleep(50);
        }
    }

    @Test
    void placesOnTheLeastLoadedSpreadsBurstsAndSkipsNodesThatLeft() throws Exception {
        Membership a = member("place", "a", 1);
        Membership b = member("place", "b", 2);
        Membership c = member("place", "c", 3);
        ProcessSpace home = space(a, 1);
        await("a sees all three with reports", () -> home.liveNodes().size() == 3);

        loads.put("a", 1.8);
        loads.put("b", 0.1);
        loads.put("c", 1.2);
        await("the loads are gossiped", () -> home.liveNodes().stream().anyMatch(n -> n.node().equals("a") && n.load() > 1.7)
            && home.liveNodes().stream().anyMatch(n -> n.node().equals("c") && n.load() > 1.1));
        assertEquals("b", home.place(PlacementRequest.ANY).node());

        loads.put("b", 0.0);
        loads.put("a", 0.0);
        loads.put("c", 0.0);
        await("all idle", () -> home.liveNodes().stream().allMatch(n -> n.load() == 0.0));
        Thread.sleep(dev.gestalt.process.placement.InFlight.WINDOW_MILLIS + 200); // the placement above ages out
        Map<String, Integer> burst = new HashMap<>();
        for (int i = 0; i < 9; i++) {
            burst.merge(home.place(PlacementRequest.ANY).node(), 1, Integer::sum);
        }
        assertEquals(Map.of("a", 3, "b", 3, "c", 3), burst, "a burst is spread by the placements in flight");

        b.close();
        await("b left the view", () -> home.liveNodes().stream().noneMatch(n -> n.node().equals("b")));
        for (int i = 0; i < 20; i++) {
            assertFalse(home.place(PlacementRequest.ANY).node().equals("b"));
        }
        var e = assertThrows(GestaltException.NoEligibleNode.class, () -> home.place(new PlacementRequest("b", 0, 0)));
        assertTrue(e.getMessage().contains("not in the cluster or is down"), e.getMessage());
        assertEquals(List.of("a", "c"), home.members().stream().sorted().toList());
    }

    @Test
    void everyMemberDecidesForItselfWithoutACentralScheduler() throws Exception {
        Membership a = member("decide", "a", 1);
        Membership b = member("decide", "b", 2);
        ProcessSpace sa = space(a, 1);
        ProcessSpace sb = space(b, 2);
        await("both see both", () -> sa.liveNodes().size() == 2 && sb.liveNodes().size() == 2);
        loads.put("a", 1.9);
        await("b hears a's load", () -> sb.liveNodes().stream().anyMatch(n -> n.node().equals("a") && n.load() > 1.8));
        await("a hears its own load", () -> sa.liveNodes().stream().anyMatch(n -> n.node().equals("a") && n.load() > 1.8));
        assertEquals("b", sa.place(PlacementRequest.ANY).node());
        assertEquals("b", sb.place(PlacementRequest.ANY).node());
        assertEquals(1, sa.newGpid().home());
        assertEquals(2, sb.newGpid().home());
    }
}

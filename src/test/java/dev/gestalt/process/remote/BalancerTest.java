package dev.gestalt.process.remote;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class BalancerTest {

    /**
     * What this node sent a node counts there until a report of that node came long enough after
     * it to count it (CI: a report that had not seen the last arrival made the balancer send a
     * fourth process to the node that had two, while the third had one).
     */
    @Test
    void aProcessJustSentCountsWhereItWentUntilThatNodesReportsCanShowIt() {
        var a = new Balancer.Arrivals();
        long t = 1_000_000;
        assertEquals(0, a.notSeenYet("node2", t, t), "nothing sent");
        a.arrived("node2", t);
        assertEquals(1, a.notSeenYet("node2", t - 1000, t + 1000), "a report from before the arrival");
        assertEquals(1, a.notSeenYet("node2", t + Balancer.SEEN_AFTER_MILLIS - 1, t + 6000), "too soon after it to show it");
        assertEquals(0, a.notSeenYet("node2", t + Balancer.SEEN_AFTER_MILLIS, t + 6000), "late enough to show it");
        assertEquals(0, a.notSeenYet("node3", t - 1000, t + 1000), "another node");
        a.arrived("node2", t + 2000);
        assertEquals(2, a.notSeenYet("node2", t + 500, t + 3000));
        assertEquals(0, a.notSeenYet("node2", t - 1000, t + Balancer.STALE_MILLIS + Balancer.SEEN_AFTER_MILLIS + 2001),
            "forgotten once no report could be that old");
    }

    @Test
    void aMoveIsWorthItOnlyWhenItEvensOutAndNeverThereAndBackAgain() {
        assertTrue(Balancer.worthIt(new Balancer.Node("a", 6, 2), new Balancer.Node("b", 0, 2)));
        assertTrue(Balancer.worthIt(new Balancer.Node("a", 2, 2), new Balancer.Node("b", 0, 2)), "2/0 -> 1/1");
        assertFalse(Balancer.worthIt(new Balancer.Node("a", 3, 2), new Balancer.Node("b", 2, 2)), "3/2 stays");
        assertFalse(Balancer.worthIt(new Balancer.Node("a", 1, 2), new Balancer.Node("b", 0, 2)), "1/0 -> 0/1 gains nothing");
        assertTrue(Balancer.worthIt(new Balancer.Node("a", 4, 4), new Balancer.Node("b", 1, 1)) == (3 / 4.0 >= 2 / 1.0));
        for (int ca = 1; ca <= 8; ca++) {
            for (int cb = 1; cb <= 8; cb++) {
                for (int a = 0; a <= 20; a++) {
                    for (int b = 0; b <= 20; b++) {
                        var from = new Balancer.Node("a", a, ca);
                        var to = new Balancer.Node("b", b, cb);
                        if (Balancer.worthIt(from, to)) {
                            var back = Balancer.worthIt(new Balancer.Node("b", b + 1, cb), new Balancer.Node("a", a - 1, ca));
                            assertFalse(back, "ping-pong: " + a + "/" + ca + " -> " + b + "/" + cb);
                            assertTrue(from.perCpu() > to.perCpu(), "only downhill");
                        }
                    }
                }
            }
        }
    }
}

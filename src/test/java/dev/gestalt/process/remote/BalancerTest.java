package dev.gestalt.process.remote;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class BalancerTest {

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

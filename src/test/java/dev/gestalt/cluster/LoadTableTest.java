package dev.gestalt.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class LoadTableTest {

    private final AtomicLong nanos = new AtomicLong(1_000_000_000L);
    private final LoadTable table = new LoadTable(nanos::get);

    private static LoadReport at(String node, long epochMillis, double load) {
        return new LoadReport(node, 1, "", "", 1, load, 0, 0, 0, epochMillis, false);
    }

    @Test
    void agesComeFromTheLocalClockAndViewMembershipIsMarked() {
        table.put(at("a", 5_000, 1));
        nanos.addAndGet(Duration.ofMillis(1500).toNanos());
        table.put(at("b", 1, 2));
        nanos.addAndGet(Duration.ofMillis(500).toNanos());
        var snap = table.snapshot(Set.of("a"));
        assertEquals(Duration.ofMillis(2000), snap.get("a").age());
        assertEquals(Duration.ofMillis(500), snap.get("b").age());
        assertTrue(snap.get("a").inView());
        assertFalse(snap.get("b").inView());
    }

    @Test
    void anOlderReportNeverReplacesANewerOneWhileTheNodeStaysInView() {
        assertTrue(table.put(at("a", 2_000, 2)));
        assertFalse(table.put(at("a", 1_000, 1)));
        assertEquals(2, table.snapshot(Set.of("a")).get("a").report().load());
        assertTrue(table.put(at("a", 2_000, 3)));
        assertEquals(3, table.snapshot(Set.of("a")).get("a").report().load());
    }

    @Test
    void aNodeThatLeftKeepsItsRowAndRejoinsWithAnyClock() {
        table.put(at("a", 9_000, 9));
        table.markLeft(Set.of("a", "never-seen"));
        var snap = table.snapshot(Set.of());
        assertEquals(Set.of("a"), snap.keySet());
        assertFalse(snap.get("a").inView());
        assertTrue(table.put(at("a", 10, 1)), "a restarted node's clock may be behind");
        assertFalse(table.put(at("a", 5, 0)));
        assertEquals(1, table.snapshot(Set.of("a")).get("a").report().load());
    }
}

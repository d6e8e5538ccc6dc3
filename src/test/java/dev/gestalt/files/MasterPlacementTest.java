package dev.gestalt.files;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import org.junit.jupiter.api.Test;

class MasterPlacementTest {

    private static final FileSpaceState RUNNING = new FileSpaceState(4, 1, "n1", List.of("n2", "n3"), "s3cret");

    @Test
    void theFirstLeaderBecomesMasterAndPicksMetaloggersAndASecret() {
        FileSpaceState s = MasterPlacement.decide(FileSpaceState.EMPTY, "n2", List.of("n1", "n2", "n3"), 0, 3000);
        assertEquals("n2", s.master());
        assertEquals(List.of("n1", "n3"), s.metaloggers());
        assertEquals(1, s.epoch());
        assertEquals(1, s.version());
        assertEquals(48, s.secret().length());
    }

    @Test
    void nothingChangesWhileEveryoneIsThere() {
        assertNull(MasterPlacement.decide(RUNNING, "n3", List.of("n1", "n2", "n3"), 0, 3000));
    }

    @Test
    void anAbsentMasterIsReplacedOnlyAfterTheGracePeriodByTheFirstLiveMetalogger() {
        assertNull(MasterPlacement.decide(RUNNING, "n3", List.of("n2", "n3"), 2999, 3000));
        FileSpaceState s = MasterPlacement.decide(RUNNING, "n3", List.of("n2", "n3"), 3000, 3000);
        assertEquals("n2", s.master());
        assertEquals(2, s.epoch());
        assertEquals(List.of("n3"), s.metaloggers());
        assertEquals("s3cret", s.secret());
    }

    @Test
    void withNoLiveMetaloggerNoNodeWithoutACopyIsAppointed() {
        var lonely = new FileSpaceState(4, 1, "n1", List.of("n2"), "s");
        assertNull(MasterPlacement.decide(lonely, "n3", List.of("n3", "n4"), 60_000, 3000));
    }

    @Test
    void aLostMetaloggerIsReplacedByANodeThatIsNeitherMasterNorMetalogger() {
        FileSpaceState s = MasterPlacement.decide(RUNNING, "n1", List.of("n1", "n3", "n4"), 0, 3000);
        assertEquals("n1", s.master());
        assertEquals(1, s.epoch());
        assertEquals(List.of("n3", "n4"), s.metaloggers());
        assertFalse(s.metaloggers().contains(s.master()));
    }

    @Test
    void aChangeAppliesOnlyToTheVersionItWasComputedFrom() throws Exception {
        FileSpaceState next = MasterPlacement.decide(RUNNING, "n3", List.of("n2", "n3"), 5000, 3000);
        byte[] change = FileSpaceState.encodeChange(RUNNING.version(), next);
        assertEquals(next, FileSpaceState.applyChange(RUNNING, change, 0, change.length));
        FileSpaceState newer = RUNNING.next("n1", List.of("n2"), "s3cret");
        assertEquals(newer, FileSpaceState.applyChange(newer, change, 0, change.length), "a stale change is dropped");
    }
}

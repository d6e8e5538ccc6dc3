package dev.gestalt.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gestalt.rpc.proto.Event;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EventLogTest {

    @TempDir
    Path dir;

    @Test
    void keepsTheLastThousandAcrossRestartsInABoundedOwnerOnlyFile() throws Exception {
        Path file = dir.resolve("events");
        var log = new EventLog("node1", file);
        for (int i = 1; i <= 5000; i++) {
            log.record("moved", "1-" + i, "event " + i);
        }
        List<Event> all = log.after(0);
        assertEquals(EventLog.KEPT, all.size(), "bounded");
        assertEquals(4001, all.getFirst().getSeq());
        assertEquals("1-5000", all.getLast().getGpid());
        assertEquals(List.of(), log.after(5000));
        assertEquals(3, log.after(4997).size());
        assertTrue(Files.size(file) < 2 * EventLog.KEPT * 60L, "the file is rewritten, not grown: " + Files.size(file));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));

        var again = new EventLog("node1", file); // the daemon restarted
        assertEquals(all, again.after(0), "the same events after a restart");
        again.record("drain", "", "node1 takes no new processes");
        assertEquals(5001, again.last(), "numbers go on: a follower asks after what it saw");
        assertEquals("drain", again.after(5000).getFirst().getKind());
    }

    @Test
    void aTornLastRecordLosesOnlyItself() throws Exception {
        Path file = dir.resolve("events");
        var log = new EventLog("node2", file);
        log.record("node joined", "", "node1 is in the cluster");
        log.record("node left", "", "node1 left");
        byte[] b = Files.readAllBytes(file);
        Files.write(file, java.util.Arrays.copyOf(b, b.length - 3)); // a crash in the middle of a write
        var again = new EventLog("node2", file);
        assertEquals(1, again.after(0).size());
        assertEquals("node joined", again.after(0).getFirst().getKind());
        again.record("node joined", "", "node1 is back");
        assertEquals(2, new EventLog("node2", file).after(0).size(), "what follows the torn record is kept too");
    }
}

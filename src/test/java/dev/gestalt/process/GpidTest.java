package dev.gestalt.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GpidTest {

    @Test
    void parsesWhatItPrints() {
        assertEquals(new Gpid(2, 117), Gpid.parse("2-117"));
        assertEquals("2-117", new Gpid(2, 117).toString());
        for (String bad : List.of("", "2", "-1", "2-", "a-1", "1-b", "1--2", "1:2")) {
            assertThrows(IllegalArgumentException.class, () -> Gpid.parse(bad), bad);
            assertFalse(Gpid.looksLike(bad));
        }
    }

    @Test
    void aRestartedNodeNeverReusesAGpid(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("gpid");
        Set<Gpid> seen = new HashSet<>();
        for (int restart = 0; restart < 3; restart++) {
            var alloc = new GpidAllocator(4, f);
            for (int i = 0; i < GpidAllocator.BLOCK + 5; i++) {
                Gpid g = alloc.next();
                assertEquals(4, g.home());
                assertTrue(seen.add(g), "duplicate " + g);
            }
        }
        assertTrue(Files.readString(f).trim().matches("\\d+"));
    }

    @Test
    void aBlockThatCannotBeMadeDurableHandsNothingOut(@TempDir Path dir) throws Exception {
        Path sub = Files.createDirectory(dir.resolve("state"));
        Path f = sub.resolve("gpid");
        var alloc = new GpidAllocator(4, f);
        long last = 0;
        for (int i = 0; i < GpidAllocator.BLOCK; i++) {
            last = alloc.next().seq();
        }
        assertEquals(Long.parseLong(Files.readString(f).trim()) - 1, last, "the whole durable block was used");
        Files.delete(f);
        Files.delete(sub); // the next reservation cannot be written
        for (int attempt = 0; attempt < 3; attempt++) {
            assertThrows(java.io.UncheckedIOException.class, alloc::next,
                "no GPID beyond the durable block is handed out, however often it is asked");
        }
        Files.createDirectory(sub);
        assertEquals(last + 1, alloc.next().seq(), "once it can be written again, numbering goes on");
        assertEquals(last + 1 + GpidAllocator.BLOCK, Long.parseLong(Files.readString(f).trim()));
    }
}

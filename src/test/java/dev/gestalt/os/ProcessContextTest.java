package dev.gestalt.os;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ProcessContextTest {

    /** /proc/self/limits spells each limit in its own words; compare what both can express. */
    private static long parse(String field) {
        return field.equals("unlimited") ? Limit.INFINITY : Long.parseLong(field);
    }

    @Test
    void limitsMatchProcSelfLimits() throws Exception {
        List<Limit> limits = ProcessContext.limits();
        assertEquals(16, limits.size());
        List<String> lines = Files.readAllLines(Path.of("/proc/self/limits"));
        String[] procNames = {"Max cpu time", "Max file size", "Max data size", "Max stack size",
            "Max core file size", "Max resident set", "Max processes", "Max open files",
            "Max locked memory", "Max address space", "Max file locks", "Max pending signals",
            "Max msgqueue size", "Max nice priority", "Max realtime priority", "Max realtime timeout"};
        for (int r = 0; r < 16; r++) {
            Limit limit = limits.get(r);
            assertEquals(r, limit.resource());
            String prefix = procNames[r];
            String line = lines.stream().filter(l -> l.startsWith(prefix)).findFirst().orElseThrow();
            String[] f = line.substring(26).trim().split("\\s+");
            assertEquals(parse(f[0]), limit.soft(), line);
            assertEquals(parse(f[1]), limit.hard(), line);
        }
        assertEquals("nofile", limits.get(7).name());
        assertEquals(7, Limit.resourceOf("RLIMIT_NOFILE"));
        assertThrows(IllegalArgumentException.class, () -> new Limit(16, 0, 0));
    }

    @Test
    void umaskIsReadWithoutChangingIt() {
        int before = ProcessContext.umask();
        assertEquals(before, ProcessContext.umask());
        int old = Posix.umask(0002);
        try {
            assertEquals(0002, ProcessContext.umask());
        } finally {
            Posix.umask(old);
        }
        assertTrue(before >= 0 && before <= 0777);
    }
}

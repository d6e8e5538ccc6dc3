package dev.gestalt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.gestalt.os.Limit;
import dev.gestalt.os.Posix;
import dev.gestalt.os.ProcessContext;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The CLI's /proc readings agree with the kernel's answers through FFM. */
class CallerContextTest {

    @Test
    void limitsFromProcMatchGetrlimit() {
        long[] flat = CallerContext.limits();
        List<Limit> real = ProcessContext.limits();
        assertEquals(real.size() * 3, flat.length);
        for (int i = 0; i < real.size(); i++) {
            assertEquals(real.get(i).resource(), flat[3 * i], "resource order");
            assertEquals(real.get(i).soft(), flat[3 * i + 1], real.get(i).name() + " soft");
            assertEquals(real.get(i).hard(), flat[3 * i + 2], real.get(i).name() + " hard");
        }
    }

    @Test
    void umaskAndTerminalsMatch() {
        assertEquals(ProcessContext.umask(), CallerContext.umask());
        for (int fd = 0; fd <= 2; fd++) {
            assertEquals(Posix.isatty(fd), CallerContext.isTerminal(fd), "fd " + fd);
        }
    }
}

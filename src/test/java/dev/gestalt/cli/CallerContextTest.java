package dev.gestalt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.gestalt.os.Posix;
import dev.gestalt.os.ProcessContext;
import org.junit.jupiter.api.Test;

/** The CLI's /proc readings agree with the kernel's answers through FFM. */
class CallerContextTest {

    @Test
    void umaskAndTerminalsMatch() {
        assertEquals(ProcessContext.umask(), CallerContext.umask());
        for (int fd = 0; fd <= 2; fd++) {
            assertEquals(Posix.isatty(fd), CallerContext.isTerminal(fd), "fd " + fd);
        }
    }
}

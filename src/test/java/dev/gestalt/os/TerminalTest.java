package dev.gestalt.os;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TerminalTest {

    private static String sttyAll(String tty) throws Exception {
        Process p = new ProcessBuilder("stty", "-F", tty, "-a").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(10, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        return " " + out.replace('\n', ' ') + " ";
    }

    @Test
    void windowSizeIsSetAndRead() throws Throwable {
        try (TestPty pty = new TestPty()) {
            assertTrue(Posix.isatty(pty.slave));
            Posix.setWindowSize(pty.master, new WinSize(132, 43));
            assertEquals(new WinSize(132, 43), Posix.windowSize(pty.slave).orElseThrow());
        }
    }

    @Test
    void rawModeIsEnteredAndRestored() throws Throwable {
        try (TestPty pty = new TestPty()) {
            assertTrue(sttyAll(pty.slavePath).contains(" icanon "));
            Terminal.RawMode raw = Terminal.rawMode(pty.slave).restoreOnExit();
            String rawSettings = sttyAll(pty.slavePath);
            assertTrue(rawSettings.contains(" -icanon "), rawSettings);
            assertTrue(rawSettings.contains(" -echo "), rawSettings);
            raw.close();
            raw.close();
            String restored = sttyAll(pty.slavePath);
            assertTrue(restored.contains(" icanon "), restored);
            assertTrue(restored.contains(" echo "), restored);
        }
    }

    @Test
    void rawModeOfANonTerminalFails() {
        PosixException e = assertThrows(PosixException.class, () -> Terminal.rawMode(999));
        assertEquals(Errno.EBADF, e.errno());
    }
}

package dev.gestalt.cli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;

/**
 * The CLI's terminal during a session whose program has one: raw while the
 * program runs, restored once at the end. What Gestalt itself prints on stderr
 * meanwhile (a lost node, a failure to start) is held and printed after the
 * restore, so it reads as lines instead of a staircase; past
 * {@link #HOLD_LIMIT} bytes it is printed at once.
 */
final class RawTerminal {

    static final int HOLD_LIMIT = 64 * 1024;

    private final PrintStream err;
    private final ByteArrayOutputStream held = new ByteArrayOutputStream();
    private Stty.Restore raw;

    RawTerminal(PrintStream err) {
        this.err = err;
    }

    /** Puts the terminal in raw mode; a terminal that refuses stays as it is. */
    synchronized void raw() {
        if (raw == null) {
            try {
                raw = Stty.raw();
            } catch (IOException e) {
                // not a terminal after all: the session goes on cooked
            }
        }
    }

    synchronized boolean isRaw() {
        return raw != null;
    }

    /** Bytes for stderr: held while raw. */
    synchronized void hold(byte[] b) {
        if (raw != null && held.size() + b.length <= HOLD_LIMIT) {
            held.writeBytes(b);
        } else {
            err.write(b, 0, b.length);
            err.flush();
        }
    }

    /** One line of Gestalt's own, printed now or after the restore. */
    void say(String line) {
        hold((line + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    void stackTrace(Throwable t) {
        var w = new StringWriter();
        t.printStackTrace(new PrintWriter(w));
        hold(w.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    /** Restores the terminal (once), then prints what was held. */
    synchronized void restore() {
        if (raw != null) {
            raw.close();
            raw = null;
        }
        if (held.size() > 0) {
            err.write(held.toByteArray(), 0, held.size());
            held.reset();
        }
        err.flush();
    }
}

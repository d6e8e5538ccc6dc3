package dev.gestalt.os;

import java.util.Locale;
import java.util.OptionalInt;

/**
 * The standard Linux signals 1..31 (x86-64 and arm64 numbering) by name and number, as
 * {@code kill -l} lists them.
 */
public final class Signals {
    /** Hangup. */
    public static final int SIGHUP = 1;
    /** Interrupt (Ctrl-C). */
    public static final int SIGINT = 2;
    /** Kill, cannot be caught. */
    public static final int SIGKILL = 9;
    /** Segmentation fault. */
    public static final int SIGSEGV = 11;
    /** Termination. */
    public static final int SIGTERM = 15;
    /** Continue if stopped. */
    public static final int SIGCONT = 18;
    /** Stop, cannot be caught. */
    public static final int SIGSTOP = 19;
    /** Terminal window size changed. */
    public static final int SIGWINCH = 28;

    private static final String[] NAMES = {null, "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT",
        "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD",
        "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH",
        "IO", "PWR", "SYS"};

    private Signals() {}

    /** The highest standard signal number. */
    public static int max() {
        return NAMES.length - 1;
    }

    /** The name without "SIG" ({@code TERM} for 15). */
    public static String name(int signal) {
        if (signal < 1 || signal >= NAMES.length) {
            throw new IllegalArgumentException("no standard signal " + signal);
        }
        return NAMES[signal];
    }

    /**
     * Parses "TERM", "SIGTERM", "term" or "15". Numbers are accepted in 1..31 only; empty
     * when the text names no standard signal.
     */
    public static OptionalInt parse(String text) {
        String s = text.strip().toUpperCase(Locale.ROOT);
        if (!s.isEmpty() && allDigits(s)) {
            if (s.length() > 2) {
                return OptionalInt.empty();
            }
            int n = Integer.parseInt(s);
            return n >= 1 && n < NAMES.length ? OptionalInt.of(n) : OptionalInt.empty();
        }
        if (s.startsWith("SIG")) {
            s = s.substring(3);
        }
        if (s.equals("IOT")) {
            return OptionalInt.of(6);
        }
        if (s.equals("POLL")) {
            return OptionalInt.of(29);
        }
        for (int i = 1; i < NAMES.length; i++) {
            if (NAMES[i].equals(s)) {
                return OptionalInt.of(i);
            }
        }
        return OptionalInt.empty();
    }

    /** A loop, not a stream: the CLI parses signal names on every start, in a cold JVM. */
    private static boolean allDigits(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (!Character.isDigit(s.charAt(i))) {
                return false;
            }
        }
        return true;
    }
}

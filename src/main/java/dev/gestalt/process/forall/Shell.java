package dev.gestalt.process.forall;

import java.util.regex.Pattern;

/** Quoting for a POSIX shell's command line. */
final class Shell {

    private static final Pattern SAFE = Pattern.compile("[A-Za-z0-9_./:@%+,=-]+");

    private Shell() {}

    /** {@code s} as one word of a shell command line: as it is when plain, else in single quotes. */
    static String quote(String s) {
        if (SAFE.matcher(s).matches()) {
            return s;
        }
        return "'" + s.replace("'", "'\\''") + "'";
    }
}

package dev.gestalt.process;

/**
 * A global process ID: unique in the cluster, stable for the life of the
 * process (and, later, across migration), typable. Written {@code HOME-SEQ}:
 * the numeric id of the home node that allocated it and a sequence number
 * that never repeats on that node, e.g. {@code 2-117}.
 */
public record Gpid(int home, long seq) {

    public static Gpid parse(String s) {
        int dash = s.indexOf('-');
        if (dash <= 0 || dash == s.length() - 1) {
            throw new IllegalArgumentException("not a GPID: '" + s + "' (GPIDs look like 2-117)");
        }
        try {
            int home = Integer.parseInt(s.substring(0, dash));
            long seq = Long.parseLong(s.substring(dash + 1));
            if (home < 0 || seq < 0) {
                throw new NumberFormatException();
            }
            return new Gpid(home, seq);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a GPID: '" + s + "' (GPIDs look like 2-117)");
        }
    }

    public static boolean looksLike(String s) {
        try {
            parse(s);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    @Override
    public String toString() {
        return home + "-" + seq;
    }
}

package dev.gestalt.os;

/**
 * A resource limit as getrlimit(2) gives it. {@code soft} and {@code hard} are -1 for
 * RLIM_INFINITY.
 *
 * @param resource the RLIMIT_* number (0..15 on Linux)
 */
public record Limit(int resource, long soft, long hard) {
    /** RLIM_INFINITY as this record spells it. */
    public static final long INFINITY = -1;

    private static final String[] NAMES = {"cpu", "fsize", "data", "stack", "core", "rss", "nproc",
        "nofile", "memlock", "as", "locks", "sigpending", "msgqueue", "nice", "rtprio", "rttime"};

    /** How many RLIMIT_* resources Linux has. */
    public static final int COUNT = NAMES.length;

    /** Validates the resource number. */
    public Limit {
        if (resource < 0 || resource >= COUNT) {
            throw new IllegalArgumentException("no resource limit " + resource);
        }
    }

    /** The resource's lower-case name as prlimit(1) and ulimit spell it, e.g. {@code nofile}. */
    public String name() {
        return NAMES[resource];
    }

    /** The resource number of a name such as {@code nofile} or {@code RLIMIT_NOFILE}. */
    public static int resourceOf(String name) {
        String n = name.toLowerCase(java.util.Locale.ROOT);
        if (n.startsWith("rlimit_")) {
            n = n.substring(7);
        }
        for (int i = 0; i < NAMES.length; i++) {
            if (NAMES[i].equals(n)) {
                return i;
            }
        }
        throw new IllegalArgumentException("unknown resource limit: " + name);
    }
}

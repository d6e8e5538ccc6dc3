package dev.gestalt.process.supervisor;

import dev.gestalt.os.Limit;
import dev.gestalt.os.Posix;

import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;

/**
 * Builds the command line that starts a job under the wrappers (see the package description).
 *
 * <p>Privileged (daemon is root): own PID namespace, new session, uid switch. Unprivileged: the
 * daemon can only run jobs as itself, so {@code unshare} and the uid switch are left out; a
 * tty job then keeps the session pty4j made for it (no {@code setsid}).
 */
final class LaunchChain {
    static final String SETPRIV = "/usr/bin/setpriv";
    static final String UNSHARE = "/usr/bin/unshare";
    static final String SETSID = "/usr/bin/setsid";
    static final String TINI = "/usr/bin/tini";
    static final String PRLIMIT = "/usr/bin/prlimit";
    static final String PERL = "/usr/bin/perl";
    /**
     * Sets the window size (TIOCSWINSZ on stdin) before anything runs, then execs the rest
     * without a shell and without touching the environment. pty4j can only set the size after
     * the fork, and a program that asks at once (stty size) would read 0x0. perl-base is
     * Essential in Debian.
     */
    static final String SET_SIZE = "ioctl(STDIN, 0x5414, pack('S4', $ARGV[0], $ARGV[1], 0, 0));"
            + " shift; shift; exec { $ARGV[0] } @ARGV; print STDERR \"$ARGV[0]: $!\\n\"; exit 126";

    private LaunchChain() {}

    /**
     * @param spec       the job
     * @param command    argv to exec after the wrappers (argv[0] already resolved if needed)
     * @param privileged whether the daemon runs as root
     * @param hardLimits the daemon's own limits, indexed by resource: requests are capped to
     *                   their hard values (raising a hard limit needs CAP_SYS_RESOURCE)
     */
    static List<String> build(LaunchSpec spec, List<String> command, boolean privileged, List<Limit> hardLimits) {
        List<String> c = new ArrayList<>();
        if (spec.tty()) {
            c.addAll(List.of(PERL, "-e", SET_SIZE, Integer.toString(spec.rows()), Integer.toString(spec.cols())));
        }
        c.addAll(List.of(SETPRIV, "--pdeathsig", "KILL", "--"));
        if (privileged) {
            c.addAll(List.of(UNSHARE, "--pid", "--fork", "--kill-child", SETSID));
            if (spec.tty()) {
                c.add("--ctty");
            }
        } else if (!spec.tty()) {
            c.add(SETSID);
        }
        c.addAll(List.of(TINI, "-s", "-g", "--"));
        List<String> limits = new ArrayList<>();
        for (Limit l : spec.limits()) {
            Limit own = hardLimits.get(l.resource());
            String wanted = capped(l, own.hard());
            if (!wanted.equals(text(own.soft()) + ":" + text(own.hard()))) {
                limits.add("--" + l.name() + "=" + wanted); // only what differs from what the job inherits
            }
        }
        if (!limits.isEmpty()) {
            c.add(PRLIMIT);
            c.addAll(limits);
            c.add("--");
        }
        if (privileged && !sameIdentity(spec)) {
            c.addAll(List.of(SETPRIV, "--reuid", Integer.toString(spec.uid()),
                    "--regid", Integer.toString(spec.gid())));
            int[] groups = spec.groups();
            if (groups.length == 0) {
                c.add("--clear-groups");
            } else {
                StringJoiner g = new StringJoiner(",");
                for (int group : groups) {
                    g.add(Integer.toString(group));
                }
                c.addAll(List.of("--groups", g.toString()));
            }
            if (spec.uid() != 0) {
                c.addAll(List.of("--inh-caps", "-all"));
            }
            c.add("--");
        }
        c.addAll(command);
        return c;
    }

    /** The daemon's own supplementary groups, as the kernel has them. */
    private static final int[] OWN_GROUPS = ownGroups();

    /** Whether the job would run with exactly the daemon's uid, gid and groups: no switch needed. */
    static boolean sameIdentity(LaunchSpec spec) {
        if (spec.uid() != Posix.geteuid() || spec.gid() != Posix.getegid()) {
            return false;
        }
        int[] wanted = spec.groups().clone();
        java.util.Arrays.sort(wanted);
        return java.util.Arrays.equals(wanted, OWN_GROUPS);
    }

    private static int[] ownGroups() {
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
                if (line.startsWith("Groups:")) {
                    String rest = line.substring(7).trim();
                    int[] g = rest.isEmpty() ? new int[0]
                        : java.util.Arrays.stream(rest.split("\\s+")).mapToInt(Integer::parseInt).toArray();
                    java.util.Arrays.sort(g);
                    return g;
                }
            }
        } catch (java.io.IOException | NumberFormatException e) {
            // unknown: always switch
        }
        return null;
    }

    /** "soft:hard" for prlimit, both at most {@code max} (-1 = unlimited). */
    static String capped(Limit l, long max) {
        long hard = cap(l.hard(), max);
        long soft = cap(l.soft(), hard);
        return text(soft) + ":" + text(hard);
    }

    private static long cap(long value, long max) {
        if (max == Limit.INFINITY) {
            return value;
        }
        if (value == Limit.INFINITY) {
            return max;
        }
        return Math.min(value, max);
    }

    private static String text(long v) {
        return v == Limit.INFINITY ? "unlimited" : Long.toString(v);
    }
}

package dev.gestalt.process.supervisor;

import dev.gestalt.os.Limit;
import dev.gestalt.os.Posix;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;

/**
 * Builds the command line that starts a job under {@code gestalt-exec} (see the package
 * description and {@code src/main/c/gestalt-exec.c}).
 *
 * <p>Privileged (daemon is root): own PID namespace, new session, uid switch. Unprivileged: the
 * daemon can only run jobs as itself, so the namespace and the uid switch are left out; a
 * tty job then keeps the session pty4j made for it (no new session).
 */
final class LaunchChain {

    private LaunchChain() {}

    /**
     * @param helper     the {@code gestalt-exec} binary
     * @param spec       the job
     * @param command    argv to exec after the wrapper (argv[0] already resolved if needed)
     * @param privileged whether the daemon runs as root
     * @param hardLimits the daemon's own limits, indexed by resource: requests are capped to
     *                   their hard values (raising a hard limit needs CAP_SYS_RESOURCE)
     */
    static List<String> build(Path helper, LaunchSpec spec, List<String> command, boolean privileged,
                              List<Limit> hardLimits) {
        List<String> c = new ArrayList<>();
        c.add(helper.toString());
        if (spec.tty()) {
            c.addAll(List.of("-w", spec.rows() + "," + spec.cols()));
        }
        if (privileged) {
            c.add("-p");
            c.add(spec.tty() ? "-c" : "-s");
        } else if (!spec.tty()) {
            c.add("-s");
        }
        for (Limit l : spec.limits()) {
            Limit own = hardLimits.get(l.resource());
            long hard = cap(l.hard(), own.hard());
            long soft = cap(l.soft(), hard);
            if (soft != own.soft() || hard != own.hard()) {
                c.addAll(List.of("-r", l.resource() + "=" + soft + ":" + hard)); // only what differs from what the job inherits
            }
        }
        if (privileged && !sameIdentity(spec)) {
            StringJoiner g = new StringJoiner(",");
            for (int group : spec.groups()) {
                g.add(Integer.toString(group));
            }
            c.addAll(List.of("-G", spec.groups().length == 0 ? "-" : g.toString(),
                    "-g", Integer.toString(spec.gid()), "-u", Integer.toString(spec.uid())));
            if (spec.uid() != 0) {
                c.add("-i");
            }
        }
        c.add("--");
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

    private static long cap(long value, long max) {
        if (max == Limit.INFINITY) {
            return value;
        }
        if (value == Limit.INFINITY) {
            return max;
        }
        return Math.min(value, max);
    }
}

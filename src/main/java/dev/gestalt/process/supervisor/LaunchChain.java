package dev.gestalt.process.supervisor;

import dev.gestalt.os.Limit;
import dev.gestalt.os.Posix;

import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;

/**
 * The options that tell the keeper how to start a job (gestalt-exec's, see
 * src/main/c/gestalt-exec.c), then {@code --} and the command.
 *
 * <p>Privileged (daemon is root): own PID namespace, and the caller's ids. Unprivileged: the
 * daemon can only run jobs as itself, so the namespace and the change of ids are left out.
 * Every limit of the spec is set (they are the caller's, as the kernel reported them); one above
 * what the keeper may give (a hard limit above its own, without CAP_SYS_RESOURCE) is lowered to it.
 */
final class LaunchChain {

    private LaunchChain() {}

    static List<String> build(LaunchSpec spec, boolean privileged) {
        List<String> c = new ArrayList<>();
        if (privileged) {
            c.add("-p");
        }
        if (spec.tty()) {
            c.addAll(List.of("-t", spec.rows() + "," + spec.cols()));
        }
        if (spec.detached()) {
            c.add("-d");
        }
        c.addAll(List.of("-m", Integer.toOctalString(spec.umask()), "-C", spec.cwd().toString()));
        for (Limit l : spec.limits()) {
            c.addAll(List.of("-r", l.resource() + "=" + l.soft() + ":" + l.hard()));
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
        c.addAll(spec.argv());
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
}

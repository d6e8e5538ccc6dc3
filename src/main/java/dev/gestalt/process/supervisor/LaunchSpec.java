package dev.gestalt.process.supervisor;

import dev.gestalt.os.Limit;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Everything needed to start a job as its caller would have started it locally.
 *
 * @param gpid     global process id; also names the job's log folder, so it is restricted to
 *                 letters, digits and {@code . _ : -}
 * @param argv     the command and its arguments, byte-exact; argv[0] is looked up in PATH of
 *                 {@code env} when it has no '/'
 * @param env      the complete environment (nothing is inherited from the daemon)
 * @param cwd      the working directory
 * @param uid      the user id to run as (ignored when the daemon is not root)
 * @param gid      the primary group id
 * @param groups   the supplementary groups
 * @param user     the user's name (for messages and the process table)
 * @param umask    the file mode creation mask
 * @param limits   resource limits; those above the daemon's own hard limits are lowered to them
 * @param tty      whether the job gets a pseudo-terminal
 * @param cols     the terminal's initial width (tty jobs)
 * @param rows     the terminal's initial height (tty jobs)
 * @param detached whether output goes to log files rather than to a caller
 * @param migratable whether it may move to another node (false: {@code run --no-migrate})
 * @param pinned   placed on its node by name ({@code run -n}): never moved automatically
 */
public record LaunchSpec(String gpid, List<String> argv, Map<String, String> env, Path cwd,
                         int uid, int gid, int[] groups, String user, int umask, List<Limit> limits,
                         boolean tty, int cols, int rows, boolean detached, boolean migratable, boolean pinned) {

    private static final Pattern GPID = Pattern.compile("[A-Za-z0-9_:.-]{1,128}");

    /** Validates and copies. */
    public LaunchSpec {
        Objects.requireNonNull(gpid, "gpid");
        if (!GPID.matcher(gpid).matches() || gpid.equals(".") || gpid.equals("..")) {
            throw new IllegalArgumentException("bad gpid: " + gpid);
        }
        argv = List.copyOf(argv);
        if (argv.isEmpty()) {
            throw new IllegalArgumentException("empty argv");
        }
        env = Map.copyOf(env);
        Objects.requireNonNull(cwd, "cwd");
        groups = groups.clone();
        Objects.requireNonNull(user, "user");
        if (umask < 0 || umask > 0777) {
            throw new IllegalArgumentException("bad umask: " + Integer.toOctalString(umask));
        }
        limits = List.copyOf(limits);
    }

    /** A job placed by the policy (not pinned). */
    public LaunchSpec(String gpid, List<String> argv, Map<String, String> env, Path cwd, int uid, int gid, int[] groups,
                      String user, int umask, List<Limit> limits, boolean tty, int cols, int rows, boolean detached,
                      boolean migratable) {
        this(gpid, argv, env, cwd, uid, gid, groups, user, umask, limits, tty, cols, rows, detached, migratable, false);
    }

    /** A job that may move to another node. */
    public LaunchSpec(String gpid, List<String> argv, Map<String, String> env, Path cwd, int uid, int gid, int[] groups,
                      String user, int umask, List<Limit> limits, boolean tty, int cols, int rows, boolean detached) {
        this(gpid, argv, env, cwd, uid, gid, groups, user, umask, limits, tty, cols, rows, detached, true);
    }

    /** The supplementary groups (a copy). */
    @Override
    public int[] groups() {
        return groups.clone();
    }
}

package dev.gestalt.process.migrate;

import dev.gestalt.cluster.Migration;
import dev.gestalt.os.Posix;
import dev.gestalt.os.ShortCommand;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Whether this node can checkpoint and move its processes, found once as the node starts, in the
 * node's own namespaces (as a dump and a restore would run): the daemon must be root (CRIU needs
 * it), CRIU 4.2 or newer must be installed, and {@code criu check} must pass on this kernel. Then
 * the ways a process can move: post-copy where the kernel has userfaultfd for other processes'
 * memory ({@code --feature uffd-noncoop}), pre-copy where it tracks dirty memory
 * ({@code --feature mem_dirty_track}), and stop-and-copy always.
 */
public final class MigrationCheck {

    /** Where {@code scripts/install-deps} puts CRIU (a wrapper around a private root), then the distribution's. */
    static final List<Path> CRIU = List.of(Path.of("/opt/gestalt/bin/criu"), Path.of("/usr/sbin/criu"), Path.of("/usr/bin/criu"));
    private static final Pattern VERSION = Pattern.compile("Version:\\s*(\\d+)\\.(\\d+)");
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private MigrationCheck() {}

    /** CRIU as installed here: {@code GESTALT_CRIU} if set, else the first of {@link #CRIU} that is executable. */
    public static Optional<Path> criu() {
        String env = System.getenv("GESTALT_CRIU");
        if (env != null && !env.isEmpty()) {
            return Optional.of(Path.of(env)).filter(Files::isExecutable);
        }
        return CRIU.stream().filter(Files::isExecutable).findFirst();
    }

    /** CAP_SYS_RESOURCE: without it (as in a container that drops it) CRIU cannot read another user's limits. */
    private static final int CAP_SYS_RESOURCE = 24;

    /**
     * Whether this daemon may dump processes of other users: CRIU reads each process's resource
     * limits with prlimit(2), which for another uid needs CAP_SYS_RESOURCE.
     */
    public static boolean dumpsOtherUsers() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (l.startsWith("CapEff:")) {
                    return (Long.parseUnsignedLong(l.substring(7).strip(), 16) >>> CAP_SYS_RESOURCE & 1) == 1;
                }
            }
        } catch (IOException | RuntimeException e) {
            // no answer: assume not
        }
        return false;
    }

    /** Runs the checks (a few hundred milliseconds: three short runs of CRIU). */
    public static Migration run() {
        if (Posix.geteuid() != 0) {
            String user = System.getProperty("user.name", "uid " + Posix.geteuid());
            return new Migration(false, "the node runs as " + user + ", not root: CRIU needs root");
        }
        Optional<Path> criu = criu();
        if (criu.isEmpty()) {
            return new Migration(false, "CRIU is not installed (scripts/install-deps installs CRIU 4.2 as /opt/gestalt/bin/criu)");
        }
        String bin = criu.get().toString();
        ShortCommand.Result version = exec(bin, "--version");
        Matcher m = VERSION.matcher(version.output());
        if (version.code() != 0 || !m.find()) {
            return new Migration(false, bin + " does not run: " + version.lastLine());
        }
        int major = Integer.parseInt(m.group(1));
        int minor = Integer.parseInt(m.group(2));
        if (major < 4 || major == 4 && minor < 2) {
            return new Migration(false, "CRIU " + major + "." + minor + " is older than 4.2 (scripts/install-deps installs 4.2)");
        }
        ShortCommand.Result check = exec(bin, "check");
        if (check.code() != 0) {
            return new Migration(false, "criu check fails on this kernel: " + check.lastLine());
        }
        List<String> ways = new ArrayList<>();
        if (exec(bin, "check", "--feature", "uffd-noncoop").code() == 0 && pipesForLazyPages()) {
            ways.add("post-copy");
        }
        if (exec(bin, "check", "--feature", "mem_dirty_track").code() == 0) {
            ways.add("pre-copy");
        }
        ways.add("stop-and-copy");
        String only = dumpsOtherUsers() ? "" : "; root's processes only (no CAP_SYS_RESOURCE)";
        return new Migration(true, String.join(", ", ways) + only);
    }

    /** CRIU's page server splices pages through pipes of up to 4 MiB: below that, lazy pages fail ("splice ... Bad file descriptor"). */
    static final long LAZY_PIPE_SIZE = 4L << 20;
    private static final Path PIPE_MAX_SIZE = Path.of("/proc/sys/fs/pipe-max-size");

    /**
     * Whether pipes may be as large as CRIU's lazy pages need: {@code fs.pipe-max-size} is raised
     * to 4 MiB if it is lower (the kernel's default is 1 MiB; root only, as a bound on what
     * unprivileged users may ask for, and never lowered here).
     */
    private static boolean pipesForLazyPages() {
        try {
            long now = Long.parseLong(Files.readAllLines(PIPE_MAX_SIZE).getFirst().strip());
            if (now >= LAZY_PIPE_SIZE) {
                return true;
            }
            Files.writeString(PIPE_MAX_SIZE, Long.toString(LAZY_PIPE_SIZE));
            java.util.logging.Logger.getLogger(MigrationCheck.class.getName()).info(
                "raised fs.pipe-max-size from " + now + " to " + LAZY_PIPE_SIZE + " for post-copy migration (CRIU lazy pages)");
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private static ShortCommand.Result exec(String... command) {
        return ShortCommand.run(TIMEOUT, List.of(command));
    }
}

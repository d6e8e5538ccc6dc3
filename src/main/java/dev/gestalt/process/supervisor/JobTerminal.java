package dev.gestalt.process.supervisor;

import dev.gestalt.os.ShortCommand;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The terminal of a job that moves: CRIU takes it as external ({@code tty[RDEV:DEV]}, as it names
 * one) and gives the restored job the slave of a new terminal in its place, which the target's
 * keeper opens with the size and modes this one had ({@code IMAGES/terminal}, see keeper-restore.c).
 */
final class JobTerminal {

    private static final Duration STTY_TIMEOUT = Duration.ofSeconds(5);
    /** stty -g on Linux: 4 flags and 32 control characters, in hex. */
    private static final Pattern MODES = Pattern.compile("[0-9a-f]{1,8}(:[0-9a-f]{1,8}){35}");
    private static final Pattern SIZE = Pattern.compile("\\d{1,5} \\d{1,5}");
    /** Unix 98 pseudo-terminal slaves: majors 136 to 143. */
    private static final int PTS_MAJOR_FIRST = 136;
    private static final int PTS_MAJOR_LAST = 143;

    private JobTerminal() {}

    /** The terminal the init of a job ({@code root}) holds as its stdin, as CRIU names it. */
    static String criuId(long root) throws IOException {
        Path fd = Path.of("/proc", Long.toString(root), "fd", "0");
        long rdev = (Long) Files.getAttribute(fd, "unix:rdev");
        long dev = (Long) Files.getAttribute(fd, "unix:dev");
        long major = ((rdev >>> 8) & 0xfff) | ((rdev >>> 32) & ~0xfffL);
        if (major < PTS_MAJOR_FIRST || major > PTS_MAJOR_LAST) {
            throw new IOException("its terminal is not a pseudo-terminal (" + Files.readSymbolicLink(fd) + ")");
        }
        return "tty[" + Long.toHexString(rdev) + ":" + Long.toHexString(dev) + "]";
    }

    /**
     * Writes {@code images/terminal}: "ROWS COLS MODES" of the terminal of the frozen job whose init
     * is {@code root} (MODES as {@code stty -g} prints them).
     */
    static void save(long root, Path images) throws IOException {
        String tty = Path.of("/proc", Long.toString(root), "fd", "0").toString();
        String modes = stty(List.of("-F", tty, "-g"), MODES);
        String size = stty(List.of("-F", tty, "size"), SIZE);
        Files.writeString(images.resolve("terminal"), size + " " + modes + "\n",
            java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE,
            java.nio.file.LinkOption.NOFOLLOW_LINKS);
    }

    private static String stty(List<String> args, Pattern expected) throws IOException {
        var cmd = new java.util.ArrayList<String>();
        cmd.add(binary());
        cmd.addAll(args);
        ShortCommand.Result r = ShortCommand.run(STTY_TIMEOUT, cmd);
        String out = r.output().strip();
        if (!r.ok() || !expected.matcher(out).matches()) {
            throw new IOException("cannot read its terminal's settings: stty: " + r.lastLine());
        }
        return out;
    }

    private static String binary() throws IOException {
        for (String p : List.of("/usr/bin/stty", "/bin/stty")) {
            if (Files.isExecutable(Path.of(p))) {
                return p;
            }
        }
        throw new IOException("stty (coreutils) is not installed");
    }
}

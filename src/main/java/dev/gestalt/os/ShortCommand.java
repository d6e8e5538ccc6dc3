package dev.gestalt.os;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a short helper command the daemon needs (umount, chmod, mfscli, criu check...): stdin from
 * /dev/null, stderr merged into stdout, bounded in time (killed after the timeout) and in what is
 * kept of its output ({@link #MAX_OUTPUT}; the rest is read and dropped, so it never blocks).
 */
public final class ShortCommand {

    /** What is kept of a command's output. */
    public static final int MAX_OUTPUT = 64 * 1024;

    private ShortCommand() {}

    /** Its exit code (-1 when it did not start or finish) and output, or why it failed. */
    public record Result(int code, String output) {
        public boolean ok() {
            return code == 0;
        }

        /** The output's last non-blank line, or "exit CODE" when there is none. */
        public String lastLine() {
            String[] lines = output.strip().split("\n");
            String last = lines[lines.length - 1].strip();
            return last.isEmpty() ? "exit " + code : last;
        }
    }

    public static Result run(Duration timeout, List<String> cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
            var out = new ByteArrayOutputStream();
            Thread pump = Thread.ofVirtual().start(() -> {
                try (var in = p.getInputStream()) {
                    out.write(in.readNBytes(MAX_OUTPUT));
                    in.transferTo(OutputStream.nullOutputStream());
                } catch (IOException e) {
                    // it ended: what was read is all there is
                }
            });
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                pump.join(1000);
                return new Result(-1, cmd.getFirst() + " did not finish within " + timeout.toSeconds() + " s");
            }
            pump.join(5000);
            return new Result(p.exitValue(), out.toString(StandardCharsets.UTF_8));
        } catch (IOException e) {
            return new Result(-1, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(-1, "interrupted");
        }
    }
}

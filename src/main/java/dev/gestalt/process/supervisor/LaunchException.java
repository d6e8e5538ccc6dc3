package dev.gestalt.process.supervisor;

/**
 * A job could not be started. The exit code and message are those a shell would give for the
 * same failure, so that {@code gestalt run} behaves like running the command locally:
 * <ul>
 * <li>127 {@code NAME: command not found}, or {@code NAME: No such file or directory} for a
 *     path;</li>
 * <li>126 {@code NAME: Permission denied} or {@code NAME: Is a directory};</li>
 * <li>1 {@code cd: DIR: No such file or directory} (or {@code Not a directory},
 *     {@code Permission denied}) when the working directory is unusable, as bash's {@code cd}
 *     fails;</li>
 * <li>255 for failures of Gestalt itself (the chain could not be spawned), as ssh does.</li>
 * </ul>
 */
public final class LaunchException extends Exception {
    private final int exitCode;

    /** @param exitCode the shell-style exit status, @param message the shell-style message */
    public LaunchException(int exitCode, String message) {
        super(message);
        this.exitCode = exitCode;
    }

    /** @param exitCode the exit status, @param message the message, @param cause the cause */
    public LaunchException(int exitCode, String message, Throwable cause) {
        super(message, cause);
        this.exitCode = exitCode;
    }

    /** The exit status the caller should report. */
    public int exitCode() {
        return exitCode;
    }
}

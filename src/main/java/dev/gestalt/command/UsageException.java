package dev.gestalt.command;

/** Bad command line: the CLI prints the message and a usage hint, and exits 2. */
public final class UsageException extends Exception {
    private final String command;

    public UsageException(String command, String message) {
        super(message);
        this.command = command;
    }

    /** The subcommand whose usage applies, or {@code null} for the top level. */
    public String command() {
        return command;
    }
}

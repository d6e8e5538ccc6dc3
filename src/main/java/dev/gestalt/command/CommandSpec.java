package dev.gestalt.command;

import java.util.List;

/**
 * A subcommand: its name, synopsis, options and where it runs.
 *
 * @param name            the word after {@code gestalt}
 * @param synopsis        the usage line after the name
 * @param summary         one line for the command list
 * @param description     the paragraph of {@code --help}
 * @param options         its options ({@code -h/--help} is implied)
 * @param stopAtOperand   options end at the first operand (commands that run a program)
 * @param signalShorthand accept {@code -9} / {@code -KILL} as in kill(1)
 * @param local           runs in the CLI itself rather than on the local node
 */
public record CommandSpec(String name, String synopsis, String summary, String description,
                          List<Option> options, boolean stopAtOperand, boolean signalShorthand, boolean local) {

    public Option longOption(String n) {
        if (n.equals("help")) {
            return Commands.HELP;
        }
        for (Option o : options) {
            if (n.equals(o.longName())) {
                return o;
            }
        }
        return null;
    }

    public Option shortOption(char c) {
        if (c == 'h') {
            return Commands.HELP;
        }
        for (Option o : options) {
            if (o.shortName() == c) {
                return o;
            }
        }
        return null;
    }

    /** The text of {@code gestalt NAME --help}. */
    public String help() {
        StringBuilder sb = new StringBuilder();
        sb.append("Usage: gestalt ").append(name).append(' ').append(synopsis).append("\n\n");
        sb.append(description).append('\n');
        if (!options.isEmpty()) {
            sb.append("\nOptions:\n");
            for (Option o : options) {
                sb.append(String.format("  %-22s %s%n", o.display(), o.help()));
            }
        }
        sb.append(String.format("  %-22s %s%n", "-h, --help", "show this help"));
        sb.append(Commands.ENVIRONMENT);
        return sb.toString();
    }
}

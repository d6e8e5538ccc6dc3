package dev.gestalt.command;

/**
 * One option of a subcommand.
 *
 * @param shortName single letter without the dash, or 0
 * @param longName  name without the dashes, or null
 * @param argName   name of the option's argument, or null for a flag
 * @param help      one line for {@code --help}
 */
public record Option(char shortName, String longName, String argName, String help) {

    public boolean takesArg() {
        return argName != null;
    }

    /** The key under which a parsed value is stored: the long name, else the letter. */
    public String key() {
        return longName != null ? longName : String.valueOf(shortName);
    }

    String display() {
        StringBuilder sb = new StringBuilder();
        if (shortName != 0) {
            sb.append('-').append(shortName);
        }
        if (longName != null) {
            sb.append(sb.isEmpty() ? "" : ", ").append("--").append(longName);
        }
        if (argName != null) {
            sb.append(' ').append(argName);
        }
        return sb.toString();
    }
}

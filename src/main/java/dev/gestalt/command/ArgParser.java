package dev.gestalt.command;

import java.util.List;

/**
 * GNU-style option parsing for one subcommand: {@code -x}, {@code -xVALUE},
 * {@code -x VALUE}, {@code --long}, {@code --long=VALUE}, {@code --long VALUE},
 * bundled flags ({@code -tT}), and {@code --} to end options. Commands that run
 * a program ({@code run}, {@code forall}) stop at the first operand, so that
 * {@code gestalt run ls -l} passes {@code -l} to {@code ls}, as {@code ssh} and
 * {@code sudo} do.
 */
public final class ArgParser {

    private ArgParser() {}

    public static ParsedArgs parse(CommandSpec spec, List<String> args) throws UsageException {
        ParsedArgs out = new ParsedArgs(spec.name());
        int i = 0;
        boolean optionsDone = false;
        while (i < args.size()) {
            String a = args.get(i++);
            if (optionsDone || a.equals("-") || !a.startsWith("-")) {
                out.positional(a);
                if (spec.stopAtOperand()) {
                    optionsDone = true;
                }
                continue;
            }
            if (a.equals("--")) {
                optionsDone = true;
                if (spec.stopAtOperand()) {
                    out.add("--", "");
                }
                continue;
            }
            if (spec.signalShorthand() && a.length() > 1 && isSignalShorthand(a.substring(1))) {
                out.add("signal", a.substring(1));
                continue;
            }
            if (a.startsWith("--")) {
                String name = a.substring(2);
                String value = null;
                int eq = name.indexOf('=');
                if (eq >= 0) {
                    value = name.substring(eq + 1);
                    name = name.substring(0, eq);
                }
                Option o = spec.longOption(name);
                if (o == null) {
                    throw new UsageException(spec.name(), "unknown option --" + name);
                }
                if (o.takesArg()) {
                    if (value == null) {
                        if (i >= args.size()) {
                            throw new UsageException(spec.name(), "option --" + name + " needs " + o.argName());
                        }
                        value = args.get(i++);
                    }
                    out.add(o.key(), value);
                } else {
                    if (value != null) {
                        throw new UsageException(spec.name(), "option --" + name + " takes no value");
                    }
                    out.add(o.key(), "");
                }
                continue;
            }
            for (int j = 1; j < a.length(); j++) {
                char c = a.charAt(j);
                Option o = spec.shortOption(c);
                if (o == null) {
                    throw new UsageException(spec.name(), "unknown option -" + c);
                }
                if (o.takesArg()) {
                    String value;
                    if (j + 1 < a.length()) {
                        value = a.substring(j + 1);
                    } else if (i < args.size()) {
                        value = args.get(i++);
                    } else {
                        throw new UsageException(spec.name(), "option -" + c + " needs " + o.argName());
                    }
                    out.add(o.key(), value);
                    break;
                }
                out.add(o.key(), "");
            }
        }
        return out;
    }

    /** {@code -9}, {@code -KILL}, {@code -SIGKILL}: what kill(1) accepts. */
    private static boolean isSignalShorthand(String s) {
        if (s.chars().allMatch(Character::isDigit)) {
            return true;
        }
        String n = s.startsWith("SIG") ? s.substring(3) : s;
        return n.length() >= 2 && n.chars().allMatch(ch -> ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9');
    }
}

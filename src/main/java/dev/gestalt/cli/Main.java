package dev.gestalt.cli;

import dev.gestalt.command.ArgParser;
import dev.gestalt.command.CommandSpec;
import dev.gestalt.command.Commands;
import dev.gestalt.command.ParsedArgs;
import dev.gestalt.command.UsageException;
import dev.gestalt.command.Validation;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The {@code gestalt} command. {@link #run} is a function of its arguments;
 * only {@link #main} exits. Commands marked local run here (cluster, init,
 * node, demo); all others are sessions on the local node.
 */
public final class Main {

    public static final String VERSION = dev.gestalt.Version.VERSION;

    private Main() {}

    /**
     * Set by {@link #main}: the process halts as soon as {@link #run} returns, so sessions
     * leave their sockets to the kernel instead of closing them (see RemoteSession).
     */
    static volatile boolean halts;

    public static void main(String[] args) {
        halts = true;
        int code = run(args, System.getenv(), System.out, System.err);
        System.out.flush();
        System.err.flush();
        Runtime.getRuntime().halt(code);
    }

    public static int run(String[] argv, Map<String, String> env, PrintStream out, PrintStream err) {
        List<String> args = Arrays.asList(argv);
        boolean verbose = false;
        while (!args.isEmpty() && args.getFirst().equals("-v")) {
            verbose = true;
            args = args.subList(1, args.size());
        }
        if (args.isEmpty()) {
            err.print(Commands.overview());
            return 2;
        }
        String first = args.getFirst();
        if (first.equals("-h") || first.equals("--help")) {
            out.print(Commands.overview());
            return 0;
        }
        if (first.equals("--version")) {
            out.println("gestalt " + VERSION);
            return 0;
        }
        if (first.equals("help")) {
            return help(args.size() > 1 ? args.get(1) : null, out, err);
        }
        CommandSpec spec = Commands.find(first);
        if (spec == null) {
            err.println("gestalt: unknown command '" + first + "'");
            err.println("Run 'gestalt --help' for the list of commands.");
            return 2;
        }
        List<String> rest = args.subList(1, args.size());
        ParsedArgs parsed;
        try {
            parsed = ArgParser.parse(spec, rest);
            if (parsed.has("help")) {
                out.print(spec.help());
                return 0;
            }
            Validation.check(spec, parsed);
        } catch (UsageException e) {
            err.println("gestalt " + spec.name() + ": " + e.getMessage());
            err.println("Usage: gestalt " + spec.name() + " " + spec.synopsis());
            return 2;
        }
        try {
            if (spec.local()) {
                return LocalCommands.run(spec, parsed, env, out, err);
            }
            return new RemoteSession(spec, parsed, rest, env, err, verbose).run();
        } catch (Exception e) {
            err.println("gestalt " + spec.name() + ": " + (e.getMessage() != null ? e.getMessage() : e.toString()));
            if (verbose) {
                e.printStackTrace(err);
            }
            return Commands.failureCode(spec.name());
        }
    }

    private static int help(String command, PrintStream out, PrintStream err) {
        if (command == null) {
            out.print(Commands.overview());
            return 0;
        }
        CommandSpec spec = Commands.find(command);
        if (spec == null) {
            err.println("gestalt: unknown command '" + command + "'");
            return 2;
        }
        out.print(spec.help());
        return 0;
    }
}

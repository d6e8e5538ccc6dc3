package dev.gestalt.process.forall;

import dev.gestalt.rpc.GestaltException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * forall's command template, read as GNU parallel reads it, and each task's command made from
 * it and the task's arguments.
 *
 * <p>Replacement strings: {@code {}} (the arguments, one word each), {@code {.}} (without the
 * extension), {@code {/}} (basename), {@code {//}} (dirname), {@code {/.}} (basename without
 * the extension), {@code {#}} (the task's sequence number), {@code {%}} (its job slot), and
 * {@code {N}} with the same modifiers ({@code {2.}}, {@code {-1/}}...) for the N-th input
 * source. A template with none gets the arguments appended. {@code {=perl=}} is refused.
 *
 * <p>As in parallel, the words of the template are a shell command line (joined with spaces;
 * each argument inserted quoted), run by {@code $PARALLEL_SHELL}, else {@code $SHELL} (a
 * Bourne-style one), else {@code /bin/sh}. With {@code -q} they are the program's argv
 * instead, each argument inserted as is. With no template at all, each argument is itself the
 * command line. A line that a shell would only split into the same words (plain characters,
 * no builtin, no assignment) is run directly, without a shell: same result, one exec fewer.
 */
final class Template {

    /** {@code {}}, {@code {.}}, {@code {/}}, {@code {//}}, {@code {/.}}, {@code {#}}, {@code {%}}, {@code {N...}}. */
    private static final Pattern REPLACEMENT = Pattern.compile("\\{(#|%|(-?[1-9][0-9]*)?(\\.|/|//|/\\.)?)}");
    /** Characters a shell takes as they are, in a word that is not the first of a command. */
    private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9_./:@%+,=-]*");
    /** Shell builtins and keywords: a command named so must be run by the shell. */
    private static final Set<String> SHELL_WORDS = Set.of("alias", "bg", "break", "builtin", "caller", "case", "cd",
        "command", "compgen", "complete", "continue", "declare", "dirs", "disown", "do", "done", "echo", "elif",
        "else", "enable", "esac", "eval", "exec", "exit", "export", "fc", "fg", "fi", "for", "function", "getopts",
        "hash", "help", "history", "if", "in", "jobs", "kill", "let", "local", "logout", "mapfile", "popd",
        "printf", "pushd", "pwd", "read", "readarray", "readonly", "return", "select", "set", "shift", "shopt",
        "source", "suspend", "test", "then", "time", "times", "trap", "type", "typeset", "ulimit", "umask",
        "unalias", "unset", "until", "wait", "while", "[", "[[", "]]", "{", "}", "!", ".", ":");
    private static final Set<String> SHELLS = Set.of("sh", "bash", "dash", "ksh", "ksh93", "mksh", "zsh", "ash",
        "yash", "posh", "lksh");

    /**
     * One piece of a template word: literal text, or a replacement string ({@code what}: "#",
     * "%", or a source number and/or modifier, as matched by {@link #REPLACEMENT}).
     */
    private record Piece(String text, String what, String source, String modifier) {
        static Piece literal(String text) {
            return new Piece(text, null, null, null);
        }

        boolean literal() {
            return what == null;
        }
    }

    private final List<List<Piece>> words;
    private final boolean quote;
    private final boolean hasReplacement;
    private final boolean plain;

    private Template(List<List<Piece>> words, boolean quote, boolean hasReplacement, boolean plain) {
        this.words = words;
        this.quote = quote;
        this.hasReplacement = hasReplacement;
        this.plain = plain;
    }

    /** The template words as given (before the first {@code :::}); {@code quote} is {@code -q}. */
    static Template parse(List<String> template, boolean quote) throws GestaltException.BadRequest {
        List<List<Piece>> words = new ArrayList<>();
        boolean any = false;
        boolean plain = !template.isEmpty();
        for (int w = 0; w < template.size(); w++) {
            String word = template.get(w);
            int perl = word.indexOf("{=");
            if (perl >= 0 && word.indexOf("=}", perl + 2) >= 0) {
                throw new GestaltException.BadRequest("{= ... =} (a Perl expression) is not supported: "
                    + "use the replacement strings {} {.} {/} {//} {/.} {#} {%} {N}, or a shell command");
            }
            List<Piece> pieces = new ArrayList<>();
            Matcher m = REPLACEMENT.matcher(word);
            int at = 0;
            while (m.find()) {
                if (m.start() > at) {
                    pieces.add(Piece.literal(word.substring(at, m.start())));
                }
                pieces.add(new Piece(m.group(), m.group(1), m.group(2), m.group(3) == null ? "" : m.group(3)));
                at = m.end();
                any = true;
            }
            if (at < word.length()) {
                pieces.add(Piece.literal(word.substring(at)));
            }
            for (Piece p : pieces) {
                if (p.literal() && !PLAIN.matcher(p.text()).matches()) {
                    plain = false;
                }
            }
            if (w == 0 && (word.isEmpty() || pieces.size() != 1 || !pieces.getFirst().literal()
                || word.contains("=") || SHELL_WORDS.contains(word) && !word.equals("true") && !word.equals("false"))) {
                plain = false;
            }
            words.add(pieces);
        }
        return new Template(words, quote, any, plain);
    }

    /** What one task runs: its argv, and the line the joblog shows. */
    record Command(List<String> argv, String line) {}

    /**
     * The command of the task with sequence number {@code seq} in job slot {@code slot}, for
     * {@code args} (one value per input source).
     */
    Command command(List<String> args, long seq, int slot, java.util.Map<String, String> env) {
        if (words.isEmpty()) {
            String line = String.join(" ", args);
            return new Command(List.of(shell(env), "-c", line), line);
        }
        List<StringBuilder> argv = new ArrayList<>();
        StringBuilder line = new StringBuilder();
        for (List<Piece> word : words) {
            if (!line.isEmpty()) {
                line.append(' ');
            }
            argv.add(new StringBuilder());
            boolean something = false;
            for (Piece p : word) {
                if (p.literal()) {
                    argv.getLast().append(p.text());
                    line.append(quote ? Shell.quote(p.text()) : p.text());
                    something = true;
                    continue;
                }
                List<String> values = values(p, args, seq, slot);
                for (int i = 0; i < values.size(); i++) {
                    if (i > 0) {
                        argv.add(new StringBuilder());
                        line.append(' ');
                    }
                    argv.getLast().append(values.get(i));
                    line.append(Shell.quote(values.get(i)));
                    something = true;
                }
            }
            if (!something) {
                argv.removeLast(); // only {N} past the last source: parallel puts nothing there, not even ''
            }
        }
        if (!hasReplacement) {
            for (String a : args) {
                argv.add(new StringBuilder(a));
                line.append(' ').append(Shell.quote(a));
            }
        }
        List<String> words = argv.stream().map(StringBuilder::toString).toList();
        if (quote || plain) {
            return new Command(words, quote ? line.toString() : String.join(" ", words.stream().map(Shell::quote).toList()));
        }
        return new Command(List.of(shell(env), "-c", line.toString()), line.toString());
    }

    /** The values a replacement string stands for: one per input source for {@code {}} and its modifiers. */
    private static List<String> values(Piece p, List<String> args, long seq, int slot) {
        if (p.what().equals("#")) {
            return List.of(Long.toString(seq));
        }
        if (p.what().equals("%")) {
            return List.of(Integer.toString(slot));
        }
        if (p.source() != null) {
            int n = Integer.parseInt(p.source());
            int i = n > 0 ? n - 1 : args.size() + n;
            return i >= 0 && i < args.size() ? List.of(modify(args.get(i), p.modifier())) : List.of();
        }
        List<String> out = new ArrayList<>(args.size());
        for (String a : args) {
            out.add(modify(a, p.modifier()));
        }
        return out;
    }

    /** GNU parallel's definitions: {@code {.}} s:\.[^/.]*$::, {@code {/}} s:.*&#47;::, {@code {//}} Perl's dirname. */
    static String modify(String v, String modifier) {
        return switch (modifier) {
            case "." -> noExtension(v);
            case "/" -> basename(v);
            case "//" -> dirname(v);
            case "/." -> noExtension(basename(v));
            default -> v;
        };
    }

    private static String noExtension(String v) {
        int dot = v.lastIndexOf('.');
        return dot >= 0 && v.indexOf('/', dot) < 0 ? v.substring(0, dot) : v;
    }

    private static String basename(String v) {
        return v.substring(v.lastIndexOf('/') + 1);
    }

    /** As dirname(1) and Perl's File::Basename::dirname on Unix. */
    static String dirname(String v) {
        int end = v.length();
        while (end > 1 && v.charAt(end - 1) == '/') {
            end--;
        }
        int slash = v.lastIndexOf('/', end - 1);
        if (slash < 0) {
            return ".";
        }
        while (slash > 0 && v.charAt(slash - 1) == '/') {
            slash--;
        }
        return slash == 0 ? "/" : v.substring(0, slash);
    }

    /** The shell of the command lines: {@code $PARALLEL_SHELL}, else a Bourne-style {@code $SHELL}, else /bin/sh. */
    static String shell(java.util.Map<String, String> env) {
        String p = env.get("PARALLEL_SHELL");
        if (p != null && !p.isEmpty()) {
            return p;
        }
        String s = env.get("SHELL");
        if (s != null && s.startsWith("/") && SHELLS.contains(s.substring(s.lastIndexOf('/') + 1))) {
            return s;
        }
        return "/bin/sh";
    }
}

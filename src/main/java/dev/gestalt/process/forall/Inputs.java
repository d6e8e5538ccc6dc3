package dev.gestalt.process.forall;

import dev.gestalt.command.ForallGrammar;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * forall's command line as GNU parallel reads it: the template (the words before the first
 * separator), then input sources: {@code ::: ARG...} (a list), {@code :::: FILE...} (each file
 * a source; {@code -} is stdin), {@code -a FILE} (first), and {@code :::+} / {@code ::::+},
 * which pair a source with the one before instead of combining them. No source at all: stdin.
 *
 * <p>Sources combine as parallel combines them: every combination, the first source
 * outermost ({@code ::: a b ::: 1 2} gives a 1, a 2, b 1, b 2); paired sources go
 * side by side, as far as the shorter one. When there are several, an empty one counts as
 * one empty argument (parallel does the same).
 */
final class Inputs {

    /** A {@code :::} list ({@code file} null), or a file's lines. */
    record Source(List<String> values, String file, boolean linked) {}

    private final List<String> template;
    private final List<Source> sources;

    private Inputs(List<String> template, List<Source> sources) {
        this.template = template;
        this.sources = sources;
    }

    static Inputs parse(List<String> positionals, List<String> argFiles) {
        int first = positionals.size();
        for (int i = 0; i < positionals.size(); i++) {
            if (ForallGrammar.SEPARATORS.contains(positionals.get(i))) {
                first = i;
                break;
            }
        }
        List<Source> sources = new ArrayList<>();
        for (String f : argFiles) {
            sources.add(new Source(null, f, false));
        }
        String sep = null;
        List<String> values = new ArrayList<>();
        for (int i = first; i <= positionals.size(); i++) {
            String p = i < positionals.size() ? positionals.get(i) : null;
            if (p != null && !ForallGrammar.SEPARATORS.contains(p)) {
                values.add(p);
                continue;
            }
            if (sep != null) {
                boolean linked = sep.endsWith("+") && !sources.isEmpty();
                if (sep.startsWith("::::")) {
                    for (String f : values) {
                        sources.add(new Source(null, f, linked));
                    }
                } else {
                    sources.add(new Source(List.copyOf(values), null, linked));
                }
            }
            sep = p;
            values = new ArrayList<>();
        }
        if (sources.isEmpty()) {
            sources.add(new Source(null, "-", false));
        }
        return new Inputs(List.copyOf(positionals.subList(0, first)), sources);
    }

    List<String> template() {
        return template;
    }

    List<Source> sources() {
        return sources;
    }

    boolean readsStdin() {
        return sources.stream().anyMatch(s -> "-".equals(s.file()));
    }

    /** One file source and nothing to combine it with: tasks start while it is still read. */
    boolean streams() {
        return sources.size() == 1 && sources.getFirst().file() != null;
    }

    /** Every combination of the sources' values (one list per source, in order), in parallel's order. */
    Combinations combinations(List<List<String>> values) {
        // groups of paired sources: each group yields rows of its sources' values side by side
        List<List<List<String>>> groups = new ArrayList<>();
        for (int i = 0; i < sources.size(); i++) {
            List<String> v = values.get(i);
            if (!sources.get(i).linked() || groups.isEmpty()) {
                groups.add(new ArrayList<>());
                for (String x : v) {
                    groups.getLast().add(new ArrayList<>(List.of(x)));
                }
                if (v.isEmpty() && sources.size() > 1) {
                    groups.getLast().add(new ArrayList<>(List.of("")));
                }
            } else {
                List<List<String>> g = groups.getLast();
                while (g.size() > v.size()) {
                    g.removeLast();
                }
                for (int r = 0; r < g.size(); r++) {
                    g.get(r).add(v.get(r));
                }
            }
        }
        return new Combinations(groups);
    }

    /** Rows of the product of groups (each group: rows of paired values), the first group outermost. */
    static final class Combinations implements Iterator<List<String>> {
        private final List<List<List<String>>> groups;
        private final int[] at;
        private boolean more;

        Combinations(List<List<List<String>>> groups) {
            this.groups = groups;
            this.at = new int[groups.size()];
            this.more = groups.stream().noneMatch(List::isEmpty);
        }

        /** How many rows in all (saturating). */
        long size() {
            long n = 1;
            try {
                for (var g : groups) {
                    n = Math.multiplyExact(n, g.size());
                }
            } catch (ArithmeticException e) {
                return Long.MAX_VALUE;
            }
            return n;
        }

        @Override
        public boolean hasNext() {
            return more;
        }

        @Override
        public List<String> next() {
            if (!more) {
                throw new NoSuchElementException();
            }
            List<String> row = new ArrayList<>();
            for (int g = 0; g < groups.size(); g++) {
                row.addAll(groups.get(g).get(at[g]));
            }
            int g = groups.size() - 1;
            while (g >= 0 && ++at[g] == groups.get(g).size()) {
                at[g] = 0;
                g--;
            }
            more = g >= 0;
            return row;
        }
    }
}

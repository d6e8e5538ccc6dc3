package dev.gestalt.command;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The result of parsing one subcommand's arguments. */
public final class ParsedArgs {
    private final String command;
    private final Map<String, List<String>> values = new HashMap<>();
    private final List<String> positionals = new ArrayList<>();

    ParsedArgs(String command) {
        this.command = command;
    }

    void add(String key, String value) {
        values.computeIfAbsent(key, k -> new ArrayList<>()).add(value);
    }

    void positional(String p) {
        positionals.add(p);
    }

    public String command() {
        return command;
    }

    public boolean has(String key) {
        return values.containsKey(key);
    }

    public String get(String key) {
        List<String> v = values.get(key);
        return v == null ? null : v.getLast();
    }

    public String get(String key, String dflt) {
        String v = get(key);
        return v == null ? dflt : v;
    }

    public List<String> all(String key) {
        return values.getOrDefault(key, List.of());
    }

    public int intValue(String key, int dflt, int min, int max) throws UsageException {
        String v = get(key);
        if (v == null) {
            return dflt;
        }
        try {
            int n = Integer.parseInt(v);
            if (n < min || n > max) {
                throw new UsageException(command, "--" + key + " must be between " + min + " and " + max + ": " + v);
            }
            return n;
        } catch (NumberFormatException e) {
            throw new UsageException(command, "--" + key + " takes a whole number: " + v);
        }
    }

    public List<String> positionals() {
        return positionals;
    }
}

package dev.gestalt.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The views a node installed, read from its log ({@code ... NodeDaemon: view [a, b] joined [b] left [c]}).
 * Every view change is logged with the daemon's own timestamp, so a test learns exactly when a node
 * dropped or took in a member, and whether it ever did so during a period, without polling the CLI;
 * and whatever else a node logged since a {@link #mark} ({@link #text}).
 */
public final class ViewLog {

    private static final Pattern LINE = Pattern.compile(
        "^(\\S+) INFO \\[[^]]+] NodeDaemon: view \\[([^]]*)](?: joined \\[([^]]*)])?(?: left \\[([^]]*)])?$");

    /** One installed view. */
    public record View(Instant at, Set<String> members, Set<String> joined, Set<String> left) {}

    private ViewLog() {}

    /** The size of a log now: views are read from this offset on. */
    public static long mark(Path log) {
        try {
            return Files.size(log);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The views logged from byte {@code from} on. */
    public static List<View> since(Path log, long from) {
        List<View> out = new ArrayList<>();
        for (String line : text(log, from).split("\n")) {
            Matcher m = LINE.matcher(line);
            if (m.matches()) {
                out.add(new View(Instant.parse(m.group(1)), names(m.group(2)), names(m.group(3)), names(m.group(4))));
            }
        }
        return out;
    }

    /** What the log holds from byte {@code from} (a {@link #mark}) on, every line. */
    public static String text(Path log, long from) {
        try {
            byte[] all = Files.readAllBytes(log);
            return new String(all, (int) Math.min(from, all.length), (int) Math.max(0, all.length - from), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The members of the last view logged from {@code from} on, or empty if none was. */
    public static Set<String> last(Path log, long from) {
        List<View> v = since(log, from);
        return v.isEmpty() ? Set.of() : v.getLast().members();
    }

    private static Set<String> names(String list) {
        if (list == null || list.isBlank()) {
            return Set.of();
        }
        return new LinkedHashSet<>(Arrays.stream(list.split(",")).map(String::trim).toList());
    }
}

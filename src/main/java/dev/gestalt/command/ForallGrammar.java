package dev.gestalt.command;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The values of forall's options that follow GNU parallel's grammar: {@code -j}, {@code --halt},
 * {@code --timeout}, and its input source separators. Checked in the CLI (fast usage errors)
 * and read on the node.
 */
public final class ForallGrammar {

    private ForallGrammar() {}

    /** Separators of input sources: a list, linked to the previous source, a file, a linked file. */
    public static final List<String> SEPARATORS = List.of(":::", ":::+", "::::", "::::+");

    /** The most tasks at once ({@code -j 0}: "as many as possible"). */
    public static final int MAX_JOBS = 100_000;

    private static final Pattern JOBS = Pattern.compile("([+-]?)([0-9]+)(%?)");

    /**
     * {@code -j}: N; +N or -N relative to {@code cpus}; N% of {@code cpus}; 0 for no limit
     * (capped at {@link #MAX_JOBS}). At least 1.
     */
    public static int jobs(String spec, int cpus) throws UsageException {
        Matcher m = JOBS.matcher(spec);
        if (!m.matches() || m.group(2).length() > 6 || !m.group(1).isEmpty() && !m.group(3).isEmpty()) {
            throw new UsageException("forall", "-j takes N, +N, -N or N% (of the cluster's CPUs), or 0 for no limit: " + spec);
        }
        int n = Integer.parseInt(m.group(2));
        long jobs;
        if (!m.group(3).isEmpty()) {
            jobs = (long) cpus * n / 100;
        } else if (m.group(1).equals("+")) {
            jobs = (long) cpus + n;
        } else if (m.group(1).equals("-")) {
            jobs = (long) cpus - n;
        } else {
            jobs = n == 0 ? MAX_JOBS : n;
        }
        return (int) Math.max(1, Math.min(MAX_JOBS, jobs));
    }

    /** When a halt stops forall: never, once running tasks are done, or at once (killing them). */
    public enum When { NEVER, SOON, NOW }

    /** What a halt counts: failed, succeeded or finished tasks. */
    public enum Why { FAIL, SUCCESS, DONE }

    /**
     * {@code --halt WHEN,WHY=N}: after N tasks (or N percent of them) failed, succeeded or
     * finished, start no more ({@code soon}) or also kill the running ones ({@code now}).
     */
    public record Halt(When when, Why why, int value, boolean percent) {
        public static final Halt NEVER = new Halt(When.NEVER, Why.FAIL, 0, false);
    }

    private static final Pattern HALT = Pattern.compile("(now|soon),(fail|success|done)=([0-9]{1,9})(%?)");
    private static final Pattern LEGACY_PERCENT = Pattern.compile("([1-9][0-9]?)%");

    /** GNU parallel's forms, with its old ones: 0 never, 1 soon,fail=1, 2 now,fail=1, -1/-2 success, 1-99%. */
    public static Halt halt(String spec) throws UsageException {
        switch (spec) {
            case "0", "never" -> {
                return Halt.NEVER;
            }
            case "1" -> {
                return new Halt(When.SOON, Why.FAIL, 1, false);
            }
            case "2" -> {
                return new Halt(When.NOW, Why.FAIL, 1, false);
            }
            case "-1" -> {
                return new Halt(When.SOON, Why.SUCCESS, 1, false);
            }
            case "-2" -> {
                return new Halt(When.NOW, Why.SUCCESS, 1, false);
            }
            default -> { }
        }
        Matcher legacy = LEGACY_PERCENT.matcher(spec);
        if (legacy.matches()) {
            return new Halt(When.SOON, Why.FAIL, Integer.parseInt(legacy.group(1)), true);
        }
        Matcher m = HALT.matcher(spec);
        int value = m.matches() ? Integer.parseInt(m.group(3)) : 0;
        boolean percent = m.matches() && !m.group(4).isEmpty();
        if (!m.matches() || value < 1 || percent && value > 100) {
            throw new UsageException("forall", "--halt takes WHEN,WHY=N: WHEN now or soon, WHY fail, success or done, "
                + "N a count or a percentage (e.g. now,fail=1, soon,fail=10%), or 0, 1, 2, -1, -2: " + spec);
        }
        return new Halt(m.group(1).equals("now") ? When.NOW : When.SOON, Why.valueOf(m.group(2).toUpperCase()),
            value, percent);
    }

    private static final Pattern DURATION = Pattern.compile("(?:([0-9]+(?:\\.[0-9]+)?)d)?(?:([0-9]+(?:\\.[0-9]+)?)h)?"
        + "(?:([0-9]+(?:\\.[0-9]+)?)m)?(?:([0-9]+(?:\\.[0-9]+)?)s?)?");

    /** {@code --timeout}: seconds, as 30, 2.5, 90s, 2m, 1h30m, 1d (GNU parallel's forms but N%). */
    public static double seconds(String spec) throws UsageException {
        if (spec.endsWith("%")) {
            throw new UsageException("forall", "--timeout N% (a share of the median run time) is not supported: "
                + "give a duration, e.g. 30, 2m, 1h30m");
        }
        Matcher m = DURATION.matcher(spec);
        double s = 0;
        if (!spec.isEmpty() && m.matches()) {
            double[] unit = {86400, 3600, 60, 1};
            for (int i = 0; i < 4; i++) {
                if (m.group(i + 1) != null) {
                    s += Double.parseDouble(m.group(i + 1)) * unit[i];
                }
            }
        }
        if (s <= 0 || s > 1e9) {
            throw new UsageException("forall", "--timeout takes a duration greater than 0, e.g. 30, 2.5, 2m, 1h30m: " + spec);
        }
        return s;
    }
}

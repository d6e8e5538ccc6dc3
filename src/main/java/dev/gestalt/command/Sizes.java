package dev.gestalt.command;

/** Memory sizes as people type them: 512M, 2G, 1.5G, 4096 (bytes), K/M/G/T with optional iB. */
public final class Sizes {

    private Sizes() {}

    public static long parse(String command, String text) throws UsageException {
        String s = text.trim().toUpperCase();
        if (s.endsWith("IB")) {
            s = s.substring(0, s.length() - 2);
        } else if (s.endsWith("B")) {
            s = s.substring(0, s.length() - 1);
        }
        long unit = 1;
        if (!s.isEmpty()) {
            switch (s.charAt(s.length() - 1)) {
                case 'K' -> unit = 1L << 10;
                case 'M' -> unit = 1L << 20;
                case 'G' -> unit = 1L << 30;
                case 'T' -> unit = 1L << 40;
                default -> { }
            }
        }
        if (unit != 1) {
            s = s.substring(0, s.length() - 1);
        }
        try {
            double v = Double.parseDouble(s);
            if (v < 0 || Double.isNaN(v) || Double.isInfinite(v)) {
                throw new NumberFormatException();
            }
            return (long) (v * unit);
        } catch (NumberFormatException e) {
            throw new UsageException(command, "not a size: " + text + " (try 512M or 2G)");
        }
    }

    /** A size for people: 1.5G, 512M, 12K. */
    public static String human(long bytes) {
        String[] units = {"B", "K", "M", "G", "T"};
        double v = bytes;
        int u = 0;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return u == 0 ? bytes + "B" : (v >= 10 ? String.format("%.0f%s", v, units[u]) : String.format("%.1f%s", v, units[u]));
    }
}

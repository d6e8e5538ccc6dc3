package dev.gestalt.format;

import java.util.ArrayList;
import java.util.List;

/** A plain text table as ps(1) prints it: a header, columns padded to their widest cell, the last one unpadded. */
public final class Table {

    private final String[] headers;
    private final boolean[] right;
    private final List<String[]> rows = new ArrayList<>();

    /** Headers; a header starting with '>' is right-aligned (the '>' is not printed). */
    public Table(String... headers) {
        this.headers = new String[headers.length];
        this.right = new boolean[headers.length];
        for (int i = 0; i < headers.length; i++) {
            right[i] = headers[i].startsWith(">");
            this.headers[i] = right[i] ? headers[i].substring(1) : headers[i];
        }
    }

    public Table row(Object... cells) {
        String[] r = new String[headers.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = i < cells.length && cells[i] != null ? printable(cells[i].toString()) : "";
        }
        rows.add(r);
        return this;
    }

    /**
     * The cell as one line of a terminal: control characters (a newline in a command line, an escape
     * sequence) become '?', as procps' ps prints them, so one row stays one line and cannot drive the terminal.
     */
    static String printable(String s) {
        StringBuilder b = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isISOControl(c)) {
                if (b == null) {
                    b = new StringBuilder(s.length()).append(s, 0, i);
                }
                b.append('?');
            } else if (b != null) {
                b.append(c);
            }
        }
        return b == null ? s : b.toString();
    }

    public boolean isEmpty() {
        return rows.isEmpty();
    }

    @Override
    public String toString() {
        int[] w = new int[headers.length];
        for (int i = 0; i < w.length; i++) {
            w[i] = headers[i].length();
            for (String[] r : rows) {
                w[i] = Math.max(w[i], r[i].length());
            }
        }
        StringBuilder sb = new StringBuilder();
        line(sb, headers, w);
        for (String[] r : rows) {
            line(sb, r, w);
        }
        return sb.toString();
    }

    private void line(StringBuilder sb, String[] cells, int[] w) {
        StringBuilder l = new StringBuilder();
        for (int i = 0; i < cells.length; i++) {
            if (i > 0) {
                l.append("  ");
            }
            boolean last = i == cells.length - 1;
            String c = cells[i];
            int pad = w[i] - c.length();
            if (right[i]) {
                l.append(" ".repeat(pad)).append(c);
            } else {
                l.append(c);
                if (!last) {
                    l.append(" ".repeat(pad));
                }
            }
        }
        sb.append(l.toString().stripTrailing()).append('\n');
    }
}

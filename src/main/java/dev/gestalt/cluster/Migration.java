package dev.gestalt.cluster;

import java.util.Objects;

/**
 * Whether a node can checkpoint its processes and move them to another node (CRIU works there,
 * as root), as it tells the others in its load report and {@code gestalt nodes} shows it.
 *
 * @param available true if it can
 * @param detail how, when it can (the ways it can move a process: "post-copy, stop-and-copy"); why
 *               not, when it cannot ("the node runs as alice, not root: CRIU needs root")
 */
public record Migration(boolean available, String detail) {

    /** What a node says before it has checked (or a node of a version that does not say). */
    public static final Migration UNKNOWN = new Migration(false, "not checked yet");

    public Migration {
        Objects.requireNonNull(detail, "detail");
    }

    /** Whether it can move processes post-copy (CRIU lazy pages: userfaultfd for other processes' memory). */
    public boolean postCopy() {
        return available && java.util.Arrays.asList(detail.split("[,;] *")).contains("post-copy");
    }

    /** For tables: yes, no, or ? while unknown. */
    public String word() {
        return available ? "yes" : this.equals(UNKNOWN) ? "?" : "no";
    }
}

package dev.gestalt.process.supervisor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.logging.Logger;

/**
 * The node's record of its jobs, so that they outlive a restart of the daemon: who started
 * what and when, and how and when it ended. One line per event appended to
 * {@code STATE/jobs/journal} (folder 0700, file 0600, the daemon's own): a start ({@code S}), a
 * hang-up ({@code D}: the job goes on detached), a period of checkpoints ({@code P}: run
 * --checkpoint-every), a move away ({@code M}), an end ({@code E}). Appending costs a write(2)
 * per event; reading it back rebuilds the table; {@link #compact} rewrites it with only what is
 * still wanted. Not fsync'd: a record is lost only with the machine, and its jobs with it.
 */
final class JobJournal implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(JobJournal.class.getName());

    /**
     * One job as recorded.
     *
     * @param endMillis 0 while it runs
     */
    record Entry(String gpid, long startMillis, int uid, int gid, String user, List<String> argv, boolean tty,
                 boolean detached, long endMillis, int code, boolean migratable, boolean pinned) {
        boolean ended() {
            return endMillis != 0;
        }

        Entry hungUp() {
            return new Entry(gpid, startMillis, uid, gid, user, argv, tty, true, endMillis, code, migratable, pinned);
        }

        Entry end(long millis, int exitCode) {
            return new Entry(gpid, startMillis, uid, gid, user, argv, tty, detached, millis, exitCode, migratable, pinned);
        }
    }

    private final Path file;
    private final Map<String, Entry> entries = new LinkedHashMap<>();
    /** How often (seconds) each job here that has them is checkpointed: a restarted daemon goes on. */
    private final Map<String, Long> periods = new java.util.HashMap<>();
    private FileChannel out;
    private int lines;

    /** Opens (creating) the journal of a state folder and reads what it holds. */
    JobJournal(Path stateDir) throws IOException {
        Path dir = stateDir.resolve("jobs");
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        }
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        file = dir.resolve("journal");
        try {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                apply(line);
            }
        } catch (NoSuchFileException e) {
            // a new node
        }
        out = open(file);
    }

    private static FileChannel open(Path file) throws IOException {
        return FileChannel.open(file, java.util.Set.of(StandardOpenOption.CREATE, StandardOpenOption.APPEND,
            StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS), PosixFilePermissions.asFileAttribute(
            PosixFilePermissions.fromString("rw-------")));
    }

    /** Every recorded job, oldest first. */
    synchronized List<Entry> entries() {
        return List.copyOf(entries.values());
    }

    synchronized Entry get(String gpid) {
        return entries.get(gpid);
    }

    synchronized void started(LaunchSpec spec, long millis) {
        Entry e = new Entry(spec.gpid(), millis, spec.uid(), spec.gid(), spec.user(), spec.argv(), spec.tty(),
            spec.detached(), 0, 0, spec.migratable(), spec.pinned());
        entries.put(e.gpid(), e);
        append(startFields(e));
    }

    /** The job moved to another node: no record of it is kept here (its new node records it). */
    synchronized void moved(String gpid) {
        periods.remove(gpid);
        if (entries.remove(gpid) != null) {
            append(List.of("M", gpid));
        }
    }

    /**
     * The job is checkpointed every {@code seconds} here. Recorded even before its start is (a job
     * restored here is recorded at the move's commit); what no running job's record goes with is
     * dropped at the next compaction.
     */
    synchronized void checkpointEvery(String gpid, long seconds) {
        if (seconds > 0 && !Long.valueOf(seconds).equals(periods.put(gpid, seconds))) {
            append(List.of("P", gpid, Long.toString(seconds)));
        }
    }

    /** How often the job is checkpointed here (seconds); 0 when it is not. */
    synchronized long checkpointEvery(String gpid) {
        Entry e = entries.get(gpid);
        return e == null || e.ended() ? 0 : periods.getOrDefault(gpid, 0L);
    }

    synchronized void hungUp(String gpid) {
        Entry e = entries.get(gpid);
        if (e != null && !e.detached()) {
            entries.put(gpid, e.hungUp());
            append(List.of("D", gpid));
        }
    }

    synchronized void ended(String gpid, long millis, int code) {
        Entry e = entries.get(gpid);
        periods.remove(gpid);
        if (e != null && !e.ended()) {
            entries.put(gpid, e.end(millis, code));
            append(List.of("E", gpid, Long.toString(millis), Integer.toString(code)));
        }
    }

    /** Lines appended since the journal was last rewritten (or read). */
    synchronized int lines() {
        return lines;
    }

    /**
     * Keeps only the jobs {@code keep} accepts, and of those that ended only the {@code maxEnded}
     * that ended last; rewrites the file with them. Returns the jobs dropped.
     */
    synchronized List<Entry> compact(Predicate<Entry> keep, int maxEnded) throws IOException {
        List<Entry> dropped = new ArrayList<>();
        List<Entry> ended = new ArrayList<>();
        for (Entry e : entries.values()) {
            if (!keep.test(e)) {
                dropped.add(e);
            } else if (e.ended()) {
                ended.add(e);
            }
        }
        ended.sort(java.util.Comparator.comparingLong(Entry::endMillis));
        dropped.addAll(ended.subList(0, Math.max(0, ended.size() - maxEnded)));
        for (Entry e : dropped) {
            entries.remove(e.gpid());
        }
        periods.keySet().removeIf(gpid -> entries.get(gpid) == null || entries.get(gpid).ended());
        Path tmp = file.resolveSibling("journal.tmp");
        Files.deleteIfExists(tmp);
        try (FileChannel w = open(tmp)) {
            for (Entry e : entries.values()) {
                write(w, startFields(e));
                Long period = periods.get(e.gpid());
                if (period != null) {
                    write(w, List.of("P", e.gpid(), Long.toString(period)));
                }
                if (e.ended()) {
                    write(w, List.of("E", e.gpid(), Long.toString(e.endMillis()), Integer.toString(e.code())));
                }
            }
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        out.close();
        out = open(file);
        lines = 0;
        return dropped;
    }

    private static List<String> startFields(Entry e) {
        List<String> f = new ArrayList<>(List.of("S", e.gpid(), Long.toString(e.startMillis()), Integer.toString(e.uid()),
            Integer.toString(e.gid()), (e.tty() ? "t" : "") + (e.detached() ? "d" : "") + (e.migratable() ? "" : "n") + (e.pinned() ? "p" : "") + "-", e.user(),
            Integer.toString(e.argv().size())));
        f.addAll(e.argv());
        return f;
    }

    private void append(List<String> fields) {
        try {
            lines++;
            write(out, fields);
        } catch (IOException e) {
            // the job runs on; only its record after a restart is missing
            LOG.warning("cannot append to " + file + ": " + e.getMessage());
        }
    }

    private static void write(FileChannel ch, List<String> fields) throws IOException {
        StringBuilder sb = new StringBuilder(128);
        for (String s : fields) {
            if (!sb.isEmpty()) {
                sb.append('\t');
            }
            escape(s, sb);
        }
        ByteBuffer b = ByteBuffer.wrap(sb.append('\n').toString().getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    private void apply(String line) {
        String[] f = line.split("\t", -1);
        for (int i = 0; i < f.length; i++) {
            f[i] = unescape(f[i]);
        }
        try {
            switch (f[0]) {
                case "S" -> {
                    int argc = Integer.parseInt(f[7]);
                    entries.put(f[1], new Entry(f[1], Long.parseLong(f[2]), Integer.parseInt(f[3]), Integer.parseInt(f[4]),
                        f[6], List.of(f).subList(8, 8 + argc), f[5].contains("t"), f[5].contains("d"), 0, 0, !f[5].contains("n"),
                        f[5].contains("p")));
                }
                case "D" -> entries.computeIfPresent(f[1], (k, e) -> e.hungUp());
                case "P" -> periods.put(f[1], Long.parseLong(f[2]));
                case "M" -> {
                    entries.remove(f[1]);
                    periods.remove(f[1]);
                }
                case "E" -> {
                    entries.computeIfPresent(f[1], (k, e) -> e.end(Long.parseLong(f[2]), Integer.parseInt(f[3])));
                    periods.remove(f[1]);
                }
                default -> throw new IllegalArgumentException("unknown record");
            }
        } catch (RuntimeException e) {
            LOG.warning("skipping a damaged line of " + file + ": " + e);
        }
    }

    private static void escape(String s, StringBuilder sb) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\\' -> sb.append("\\\\");
                case '\t' -> sb.append("\\t");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                default -> sb.append(c);
            }
        }
    }

    private static String unescape(String s) {
        if (s.indexOf('\\') < 0) {
            return s;
        }
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 1 < s.length()) {
                char n = s.charAt(++i);
                sb.append(switch (n) {
                    case 't' -> '\t';
                    case 'n' -> '\n';
                    case 'r' -> '\r';
                    default -> n;
                });
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    @Override
    public synchronized void close() {
        try {
            out.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

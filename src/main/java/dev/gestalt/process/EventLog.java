package dev.gestalt.process;

import dev.gestalt.rpc.proto.Event;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Logger;

/**
 * What happened on this node, for {@code gestalt events}: processes moved away (by whom and why),
 * moves refused or failed, drains, nodes seen joining and leaving. The last {@value #KEPT}
 * events, bounded whatever the cluster does, kept in a root-only file of the state folder so that
 * they outlive a restart of the daemon (a drained node is the one that restarts).
 */
public final class EventLog {
    private static final Logger LOG = Logger.getLogger(EventLog.class.getName());
    static final int KEPT = 1000;

    private final String node;
    private final Path file;
    private final ArrayDeque<Event> events = new ArrayDeque<>();
    private long seq;
    private int appended;

    /** @param file where the events are kept (null: in memory only) */
    public EventLog(String node, Path file) {
        this.node = node;
        this.file = file;
        if (file != null && Files.exists(file)) {
            try (InputStream in = Files.newInputStream(file)) {
                while (true) {
                    Event e = Event.parseDelimitedFrom(in);
                    if (e == null) {
                        break;
                    }
                    keep(e);
                    seq = Math.max(seq, e.getSeq());
                }
                appended = events.size();
            } catch (IOException | RuntimeException e) {
                LOG.warning("the events in " + file + " end early (" + e.getMessage() + "): kept what came before");
                try {
                    rewrite(); // later events must not follow the torn one
                } catch (IOException ex) {
                    LOG.warning("cannot write " + file + " again: " + ex.getMessage());
                }
            }
        }
    }

    /** Records an event; {@code gpid} may be empty (a node's event). */
    public synchronized void record(String kind, String gpid, String detail) {
        Event e = Event.newBuilder().setSeq(++seq).setEpochMillis(System.currentTimeMillis()).setNode(node)
            .setKind(kind).setGpid(gpid).setDetail(detail).build();
        keep(e);
        if (file != null) {
            try {
                save(e);
            } catch (IOException ex) {
                LOG.warning("cannot keep an event in " + file + ": " + ex.getMessage());
            }
        }
    }

    private void keep(Event e) {
        if (events.size() == KEPT) {
            events.removeFirst();
        }
        events.addLast(e);
    }

    /** Appends; once the file holds twice what is kept, writes it again with what is kept. */
    private void save(Event e) throws IOException {
        if (++appended > 2 * KEPT) {
            rewrite();
            return;
        }
        try (OutputStream out = Files.newOutputStream(file, StandardOpenOption.CREATE, StandardOpenOption.APPEND,
                StandardOpenOption.WRITE, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            e.writeDelimitedTo(out);
        }
        if (appended == 1) {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        }
    }

    /** The file again with what is kept, whole or not at all. */
    private void rewrite() throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".new");
        try (OutputStream out = Files.newOutputStream(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            for (Event k : events) {
                k.writeDelimitedTo(out);
            }
        }
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        appended = events.size();
    }

    /** The events after number {@code afterSeq}, oldest first. */
    public synchronized List<Event> after(long afterSeq) {
        List<Event> out = new ArrayList<>();
        for (Event e : events) {
            if (e.getSeq() > afterSeq) {
                out.add(e);
            }
        }
        return out;
    }

    public synchronized long last() {
        return seq;
    }
}

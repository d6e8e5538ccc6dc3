package dev.gestalt.process.supervisor;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * A job that ended, as its record has it (see {@link JobJournal}): what {@code ps}, {@code wait}
 * and {@code logs} still see of it, also after a restart of the daemon.
 */
final class EndedJob implements Job {
    private final JobJournal.Entry entry;
    private final LaunchSpec spec;
    private final LogReader logs;

    EndedJob(JobJournal.Entry entry, Path logDir) {
        this.entry = entry;
        this.spec = specOf(entry);
        this.logs = entry.detached() && Files.isDirectory(logDir) ? new LogReader(logDir, () -> true) : null;
    }

    /** What a record keeps of a spec: its owner, command and kind; the rest is not needed once started. */
    static LaunchSpec specOf(JobJournal.Entry e) {
        return new LaunchSpec(e.gpid(), e.argv().isEmpty() ? java.util.List.of("?") : e.argv(), Map.of(), Path.of("/"),
            e.uid(), e.gid(), new int[0], e.user(), 022, java.util.List.of(), e.tty(), 0, 0, e.detached(), e.migratable(), e.pinned());
    }

    JobJournal.Entry entry() {
        return entry;
    }

    @Override
    public String gpid() {
        return entry.gpid();
    }

    @Override
    public LaunchSpec spec() {
        return spec;
    }

    @Override
    public long pid() {
        return -1;
    }

    @Override
    public OutputStream stdin() {
        return new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                throw new IOException("job " + gpid() + " has ended");
            }
        };
    }

    @Override
    public void closeStdin() {}

    @Override
    public InputStream stdout() {
        return logs == null ? InputStream.nullInputStream() : logs.follow(LogStream.STDOUT, 0);
    }

    @Override
    public InputStream stderr() {
        return logs == null ? InputStream.nullInputStream() : logs.follow(LogStream.STDERR, 0);
    }

    @Override
    public void signal(int sig) {}

    @Override
    public void hangUp() {}

    @Override
    public void resize(int cols, int rows) {}

    @Override
    public CompletableFuture<Integer> exit() {
        return CompletableFuture.completedFuture(entry.code());
    }

    @Override
    public CompletableFuture<Integer> end() {
        return exit();
    }

    @Override
    public Instant endTime() {
        return Instant.ofEpochMilli(entry.endMillis());
    }

    @Override
    public ProcSnapshot stats() {
        return new ProcSnapshot(-1, entry.user(), 'X', 0, 0, 0, Instant.ofEpochMilli(entry.startMillis()),
            String.join(" ", entry.argv()));
    }

    @Override
    public boolean detached() {
        return entry.detached();
    }

    @Override
    public LogReader logs() {
        if (logs == null) {
            throw new IllegalStateException("job " + gpid() + " is not detached, or its logs are gone");
        }
        return logs;
    }
}

package dev.gestalt.process.supervisor;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.function.BooleanSupplier;

/**
 * The logs of a detached job ({@code stateDir/logs/GPID/stdout} and {@code stderr}), read from
 * any offset, and followed while the job runs. To attach to a running job, follow from
 * {@link #size(LogStream)} on and write to {@link Job#stdin()}.
 */
public final class LogReader {
    private static final long POLL_MILLIS = 20;

    private final Path dir;
    private final BooleanSupplier complete;

    /**
     * @param dir      the job's log folder
     * @param complete true once the job has ended and every byte of its output is in the files
     */
    LogReader(Path dir, BooleanSupplier complete) {
        this.dir = dir;
        this.complete = complete;
    }

    /** The log file of a stream. */
    public Path path(LogStream stream) {
        return dir.resolve(stream.fileName());
    }

    /** How many bytes the log holds now (none, when it is not a plain file: see {@link #read}). */
    public long size(LogStream stream) throws IOException {
        try {
            var attrs = Files.readAttributes(path(stream), BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            return attrs.isRegularFile() ? attrs.size() : 0;
        } catch (NoSuchFileException e) {
            return 0;
        }
    }

    /**
     * Up to {@code max} bytes from {@code offset}, without waiting; empty when none are there yet.
     * The daemon reads as root in a folder that belongs to the job's user, who may have replaced
     * the log with a link: a link is never followed (ELOOP), so it cannot show the user a file
     * only root may read.
     */
    public byte[] read(LogStream stream, long offset, int max) throws IOException {
        try (FileChannel ch = FileChannel.open(path(stream), StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            long available = ch.size() - offset;
            if (available <= 0) {
                return new byte[0];
            }
            ByteBuffer buf = ByteBuffer.allocate((int) Math.min(max, available));
            while (buf.hasRemaining()) {
                if (ch.read(buf, offset + buf.position()) < 0) {
                    break;
                }
            }
            byte[] out = new byte[buf.position()];
            buf.flip().get(out);
            return out;
        } catch (NoSuchFileException e) {
            return new byte[0];
        }
    }

    /**
     * The next bytes from {@code offset}: waits until some are written, and returns an empty
     * array only at the end (the job has ended and everything was read).
     */
    public byte[] next(LogStream stream, long offset, int max) throws IOException, InterruptedException {
        while (true) {
            boolean done = complete.getAsBoolean(); // read before the data: no byte is missed
            byte[] chunk = read(stream, offset, max);
            if (chunk.length > 0 || done) {
                return chunk;
            }
            Thread.sleep(POLL_MILLIS);
        }
    }

    /** A stream over the log from {@code offset} that blocks for more until the job has ended. */
    public InputStream follow(LogStream stream, long offset) {
        return stream(stream, offset, -1);
    }

    /** A stream over what the log holds now, from its start to its present size. */
    public InputStream upToNow(LogStream stream) throws java.io.IOException {
        return stream(stream, 0, size(stream));
    }

    /** From {@code offset}; to {@code end}, or (-1) following until the job has ended. */
    private InputStream stream(LogStream stream, long offset, long end) {
        return new InputStream() {
            private long position = offset;

            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (len == 0) {
                    return 0;
                }
                byte[] chunk;
                try {
                    if (end >= 0) {
                        chunk = position >= end ? new byte[0]
                            : LogReader.this.read(stream, position, (int) Math.min(len, end - position));
                    } else {
                        chunk = next(stream, position, len);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException("interrupted while following " + path(stream));
                }
                if (chunk.length == 0) {
                    return -1;
                }
                System.arraycopy(chunk, 0, b, off, chunk.length);
                position += chunk.length;
                return chunk.length;
            }
        };
    }
}

package dev.gestalt.process.supervisor;

import dev.gestalt.os.Pipes;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * The daemon's ends of one job's stdin, stdout and stderr: pipes it opened through the keeper's
 * copies ({@link Keeper#fd}), for the client's stream; and, once the job's output goes to its
 * logs instead ({@link #toLogs}, {@link #letGo}), what a reader that comes later reads: the
 * bytes kept from the pipes, then the logs.
 */
final class JobStdio {
    /** How long {@link #readOut} waits for a reader to take what its pipe holds (then it is closed anyway). */
    private static final long READ_OUT_MILLIS = 2000;

    private final String gpid;
    private final Keeper keeper;
    /** Whether its stdin and stdout are a terminal (the keeper's relay pipes to and from it). */
    private final boolean tty;
    /** The job's init: whoever still holds its stdin pipe after the daemon let go of it is under it. */
    private final long root;
    /** The keeper's descriptors for stdin, stdout, stderr (-1: none). */
    private final int[] keeperFds;
    /** The pipes of stdin, stdout, stderr as CRIU names them (pipe:[INODE]); null: none. */
    private final String[] pipes = new String[3];
    /** The daemon's ends; null when it has none (closed, or the output went to the logs). */
    private volatile FileChannel in;
    private volatile FileChannel out;
    private volatile FileChannel err;
    /** Whether its output goes to its logs: a reader reads what {@link #letGo} kept, then them. */
    private boolean toLogs;
    /**
     * What {@link #letGo} found in an output pipe nobody had started to read yet (a stream taken up
     * again after a move), for the reader that comes: closing the pipe would lose it.
     */
    private final byte[][] unread = {new byte[0], new byte[0], new byte[0]};
    /** Whether a reader took stdout, stderr (then it reads the pipe itself: nothing is taken from under it). */
    private final boolean[] read = new boolean[3];

    /**
     * @param toLogs whether its output goes to its logs from the start (a detached job)
     * @param fds    the keeper's descriptors for its stdin, stdout, stderr (-1: none)
     */
    JobStdio(String gpid, Keeper keeper, long root, boolean tty, boolean toLogs, int... fds) throws IOException {
        this.gpid = gpid;
        this.keeper = keeper;
        this.tty = tty;
        this.root = root;
        this.toLogs = toLogs;
        this.keeperFds = fds.clone();
        for (int i = 0; i < 3; i++) {
            pipes[i] = keeperFds[i] < 0 ? null : pipeName(keeper.fd(keeperFds[i]));
        }
        try {
            in = fds[0] < 0 ? null : FileChannel.open(keeper.fd(fds[0]), StandardOpenOption.WRITE);
            out = fds[1] < 0 ? null : FileChannel.open(keeper.fd(fds[1]), StandardOpenOption.READ);
            err = fds[2] < 0 ? null : FileChannel.open(keeper.fd(fds[2]), StandardOpenOption.READ);
        } catch (IOException e) {
            close(false);
            throw e;
        }
    }

    private static String pipeName(Path fd) {
        try {
            String t = Files.readSymbolicLink(fd).toString();
            return t.startsWith("pipe:") ? t : null;
        } catch (IOException e) {
            return null;
        }
    }

    /** The pipes of its stdin, stdout and stderr as CRIU names them (pipe:[INODE]), null where none. */
    List<String> pipeNames() {
        return java.util.Arrays.asList(pipes.clone());
    }

    /**
     * Takes what is in the job's stdin pipe and was not read yet (the job is frozen: nothing else
     * reads it), for wherever it runs next. Empty when it has no input pipe or nothing waits in it.
     */
    byte[] takeUnreadInput() throws IOException {
        if (pipes[0] == null) {
            return new byte[0];
        }
        Path end = in != null ? keeper.fd(keeperFds[0]) : Criu.holder(root, pipes[0]);
        if (end == null) {
            return new byte[0]; // nothing of the job holds it any more
        }
        // read-write: an open for reading alone would wait for a writer, and its input may be closed
        try (var pipe = new java.io.RandomAccessFile(end.toFile(), "rw")) {
            var r = new java.io.FileInputStream(pipe.getFD());
            return r.readNBytes(r.available()); // FIONREAD: what is there, and no more (no wait)
        }
    }

    /** Bigger pipes (see {@link Job#bulkIo}), through the keeper's own copies: a user's process is never what the daemon opens. */
    void enlarge(int outputSize, int inputSize) {
        Pipes.resize(keeper.pid(), keeperFds[1], outputSize);
        Pipes.resize(keeper.pid(), keeperFds[2], outputSize);
        Pipes.resize(keeper.pid(), keeperFds[0], inputSize);
    }

    /** Its input, as it is (no byte at a time); {@code none} says why when it has none. */
    OutputStream stdin(String none) {
        FileChannel c = in;
        if (c == null) {
            return new OutputStream() {
                @Override
                public void write(int b) throws IOException {
                    throw new IOException(none);
                }
            };
        }
        return new java.io.FilterOutputStream(Channels.newOutputStream(c)) {
            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                out.write(b, off, len);
            }

            @Override
            public void close() {
                closeStdin(); // the keeper's copy of the pipe closes too: the job reads EOF
            }
        };
    }

    /**
     * Ends its input: EOF for a pipe (the keeper closes its copy too); for a terminal, VEOF (and
     * the terminal stays open).
     */
    void closeStdin() {
        FileChannel c = in;
        if (c == null) {
            return;
        }
        try {
            if (tty) {
                // VEOF at the start of a line ends the input of a cooked terminal
                c.write(java.nio.ByteBuffer.wrap(new byte[] {4}));
                return;
            }
            in = null;
            c.close();
        } catch (IOException e) {
            // the program is gone or stopped reading: its input is closed already
        }
        keeper.endInput(gpid);
    }

    /** Whether the daemon still reads its stdout pipe. */
    boolean readsOutput() {
        return out != null;
    }

    /**
     * Output {@code i} (1, 2): its pipe; once its output went to the logs (or, for stdout, when it
     * has no pipe), what {@link #letGo} kept of the pipe, then the log {@code logs.follow}s.
     */
    InputStream output(int i, LogReader logs, LogStream stream) {
        FileChannel c;
        boolean logged;
        synchronized (this) { // see letGo
            read[i] = true;
            c = i == 1 ? out : err;
            logged = toLogs;
        }
        if (logged || (c == null && i == 1)) {
            InputStream log = logs.follow(stream, 0);
            return unread[i].length == 0 ? log
                : new java.io.SequenceInputStream(new java.io.ByteArrayInputStream(unread[i]), log);
        }
        return c == null ? InputStream.nullInputStream() : Channels.newInputStream(c);
    }

    /** From now on its output goes to its logs (the keeper copies it there): later readers read them. */
    synchronized void toLogs() {
        toLogs = true;
    }

    /**
     * What {@link #letGo} found, for the log: whether stdout and stderr had readers, and how many
     * bytes it kept of each for the reader that comes.
     */
    record LetGo(boolean stdoutRead, boolean stderrRead, int stdoutKept, int stderrKept) {}

    /**
     * Its output goes to its logs from now on: what waits in a pipe nobody reads yet is kept for
     * the reader that comes (then {@link #closeAfterReaders}).
     */
    synchronized LetGo letGo() { // a reader that comes later gets what waits in the pipes first
        unread[1] = unreadOutput(1, out);
        unread[2] = unreadOutput(2, err);
        toLogs = true;
        return new LetGo(read[1], read[2], unread[1].length, unread[2].length);
    }

    /** After {@link #letGo}: a reader that has its pipe gets the time to read what waits there ({@link #readOut}), then the pipes close. */
    void closeAfterReaders() {
        readOut(1);
        readOut(2);
        close(false);
    }

    /** Output pipe {@code i} opened anew through the keeper's copy (read-write: a read-only open would wait for a writer). */
    private java.io.RandomAccessFile pipe(int i) throws IOException {
        return new java.io.RandomAccessFile(keeper.fd(keeperFds[i]).toFile(), "rw");
    }

    /** The bytes waiting in output pipe {@code i}, which nothing reads (FIONREAD: no wait). */
    private byte[] unreadOutput(int i, FileChannel c) {
        if (c == null || read[i] || keeperFds[i] < 0) {
            return new byte[0];
        }
        try (var pipe = pipe(i)) {
            var r = new java.io.FileInputStream(pipe.getFD());
            return r.readNBytes(r.available());
        } catch (IOException e) {
            return new byte[0];
        }
    }

    /**
     * Waits until the reader that took output pipe {@code i} has read what the program left in it
     * (FIONREAD 0), at most {@link #READ_OUT_MILLIS}: closing the pipe under a reader that was
     * about to read it (a stream just taken up again after a move, a busy machine) would lose the
     * program's last words.
     */
    private void readOut(int i) {
        if (!read[i] || keeperFds[i] < 0) {
            return;
        }
        try (var pipe = pipe(i)) {
            var waiting = new java.io.FileInputStream(pipe.getFD());
            long until = System.nanoTime() + READ_OUT_MILLIS * 1_000_000;
            while (waiting.available() > 0 && System.nanoTime() < until) {
                Thread.sleep(2);
            }
        } catch (IOException e) {
            // the pipe is gone: nothing waits in it
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Closes the daemon's ends (all, or its output only: a terminal's input stays, attach types
     * into it); closing one wakes a thread blocked reading it (AsynchronousCloseException).
     */
    void close(boolean keepInput) {
        for (FileChannel c : keepInput ? new FileChannel[] {out, err} : new FileChannel[] {in, out, err}) {
            if (c != null) {
                try {
                    c.close();
                } catch (IOException e) {
                    // closing anyway
                }
            }
        }
        if (!keepInput) {
            in = null;
        }
        out = err = null;
    }
}

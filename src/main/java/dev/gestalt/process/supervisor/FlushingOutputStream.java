package dev.gestalt.process.supervisor;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;

/**
 * Passes every write straight through (the JDK buffers a process's stdin; a job's input must
 * reach it as it is typed, and backpressure must come from the pipe alone).
 */
final class FlushingOutputStream extends FilterOutputStream {
    FlushingOutputStream(OutputStream out) {
        super(out);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        out.write(b, off, len);
        out.flush();
    }

    @Override
    public void write(int b) throws IOException {
        out.write(b);
        out.flush();
    }
}

package dev.gestalt.cli;

import dev.gestalt.os.Pipes;
import dev.gestalt.rpc.local.Credit;
import dev.gestalt.rpc.local.Frame;
import dev.gestalt.rpc.local.FrameChannel;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * The CLI's stdin to its node, on a thread of its own: straight from fd 0 into a direct buffer,
 * and from there to the socket with the frame header, never more than the node's credit; EOF
 * as a frame. In an attached terminal session, Ctrl-] ends the session instead (the process
 * keeps running).
 */
final class StdinPump {

    /** Ctrl-]: leaves an attached session, the process keeps running. */
    private static final int DETACH_KEY = 0x1d;
    /** The largest stdin read (and frame). */
    private static final int IO_BUFFER = 256 * 1024;
    private static final int PIPE_DEFAULT = 64 * 1024;

    private StdinPump() {}

    /**
     * @param onDetach run when Ctrl-] is read (the session is then closed); null: Ctrl-] is input like any byte
     */
    static void start(FrameChannel ch, Credit credit, Runnable onDetach) {
        Thread t = new Thread(() -> pump(ch, credit, onDetach), "stdin");
        t.setDaemon(true);
        t.start();
    }

    private static void pump(FrameChannel ch, Credit credit, Runnable onDetach) {
        FileChannel in = new FileInputStream(FileDescriptor.in).getChannel();
        ByteBuffer buf = ByteBuffer.allocateDirect(IO_BUFFER);
        boolean resized = false;
        try {
            while (true) {
                int allowed = credit.take(buf.capacity());
                if (allowed < 0) {
                    return;
                }
                buf.clear().limit(allowed);
                int n = in.read(buf);
                if (n <= 0) {
                    break;
                }
                credit.giveBack(allowed - n);
                if (n == PIPE_DEFAULT && !resized) {
                    // a full default pipe: bulk input. A bigger pipe gives bigger reads, and fewer
                    // frames and messages per byte all the way (not done for a trickle: binding libc
                    // costs start-up time).
                    resized = true;
                    Pipes.resize(0, IO_BUFFER * 4);
                }
                buf.flip();
                if (onDetach != null) {
                    int k = indexOf(buf, DETACH_KEY);
                    if (k >= 0) {
                        if (k > 0) {
                            ch.write(Frame.STDIN, buf.limit(buf.position() + k));
                        }
                        onDetach.run();
                        ch.close(); // the node keeps the process; the session's reader sees the end
                        return;
                    }
                }
                ch.write(Frame.STDIN, buf);
            }
            ch.write(Frame.of(Frame.STDIN_EOF));
        } catch (IOException | InterruptedException e) {
            // the session ended; its reader reports it
        }
    }

    private static int indexOf(ByteBuffer b, int value) {
        for (int i = b.position(); i < b.limit(); i++) {
            if (b.get(i) == value) {
                return i - b.position();
            }
        }
        return -1;
    }
}

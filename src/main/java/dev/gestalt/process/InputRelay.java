package dev.gestalt.process;

import dev.gestalt.process.remote.RemoteExec;
import dev.gestalt.process.remote.Signaller;
import dev.gestalt.rpc.local.ClientSession;
import dev.gestalt.rpc.local.InputListener;
import java.io.IOException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;

/**
 * Relays a CLI client's input to a remote process: stdin through a queue into
 * the flow-controlled stream (credit goes back to the client as it drains, so
 * the queue holds at most the window), signals and window sizes as separate
 * calls so that they never wait behind stdin (at most {@link #CALLS_IN_FLIGHT}
 * at once: a client that sends more waits, and so do its frames), and the
 * client's departure as the end of the stream.
 */
final class InputRelay {

    private static final byte[] EOF = new byte[0];
    static final int CALLS_IN_FLIGHT = 16;

    private InputRelay() {}

    static void start(ClientSession s, RemoteExec exec, String gpid, Signaller signaller, int window) {
        var queue = new LinkedBlockingQueue<byte[]>();
        var calls = new Semaphore(CALLS_IN_FLIGHT);
        // a platform thread: it stays up while input flows (one wake-up per chunk at most)
        Thread.ofPlatform().daemon().name("stdin-" + gpid).start(() -> {
            try {
                while (true) {
                    byte[] b = queue.take();
                    if (b == EOF) {
                        exec.stdinEof();
                        return;
                    }
                    exec.stdin(b, 0, b.length);
                    s.grantStdin(b.length);
                }
            } catch (IOException | InterruptedException e) {
                // the stream ended
            }
        });
        s.startInput(new InputListener() {
            @Override
            public void stdin(byte[] data) {
                queue.add(data);
            }

            @Override
            public void stdinEof() {
                queue.add(EOF);
            }

            @Override
            public void signal(int signal) {
                calls.acquireUninterruptibly();
                signaller.signal(exec.node(), gpid, signal, calls::release); // where it runs now: it may move
            }

            @Override
            public void resize(int cols, int rows) {
                calls.acquireUninterruptibly();
                signaller.resize(exec.node(), gpid, cols, rows, calls::release);
            }

            @Override
            public void gone() {
                exec.cancel("client gone");
            }
        });
        s.grantStdin(window);
    }
}

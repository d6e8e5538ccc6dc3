package dev.gestalt.cli;

import dev.gestalt.command.CommandSpec;
import dev.gestalt.command.ParsedArgs;

import dev.gestalt.os.Pipes;
import dev.gestalt.os.Signals;
import dev.gestalt.rpc.local.Frame;
import dev.gestalt.rpc.local.Credit;
import dev.gestalt.rpc.local.FrameChannel;
import dev.gestalt.rpc.local.Request;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.List;
import java.util.Map;
import sun.misc.Signal;

/**
 * The CLI side of a command that runs on the node: sends the request and the
 * caller's context, then pumps stdin, signals and window sizes up and
 * stdout/stderr down until the node sends the exit code. Like ssh, it is a
 * thin pipe: everything the command does happens on the node.
 */
final class RemoteSession {

    /** Ctrl-]: leaves an attached session, the process keeps running. */
    private static final int DETACH_KEY = 0x1d;

    private static final List<String> FORWARDED = List.of("INT", "TERM", "HUP", "QUIT");

    /** Read-ahead from the node, and the largest stdin read (and frame). */
    private static final int IO_BUFFER = 256 * 1024;
    private static final int PIPE_DEFAULT = 64 * 1024;

    private final CommandSpec spec;
    private final ParsedArgs parsed;
    private final List<String> rawArgs;
    private final Map<String, String> env;
    private final PrintStream err;
    private volatile boolean detachedByKey;
    private final Credit stdinCredit = new Credit(0);

    RemoteSession(CommandSpec spec, ParsedArgs parsed, List<String> rawArgs, Map<String, String> env, PrintStream err) {
        this.spec = spec;
        this.parsed = parsed;
        this.rawArgs = rawArgs;
        this.env = env;
        this.err = err;
    }

    /** Exit code of a failure of Gestalt itself for this command. */
    private int failureCode() {
        return switch (spec.name()) {
            case "run", "forall", "attach", "wait" -> 255;
            default -> 1;
        };
    }

    int run() {
        NodeLocator.Connection conn;
        try {
            conn = NodeLocator.connect(env);
        } catch (NodeLocator.NoNodeException e) {
            err.println("gestalt: " + e.getMessage());
            return failureCode();
        }
        boolean stdinTty = CallerContext.isTerminal(0);
        boolean stdoutTty = CallerContext.isTerminal(1);
        boolean tty = wantsTty(stdinTty, stdoutTty);
        int[] size = tty && stdinTty ? Stty.size() : new int[] {0, 0};
        var request = new Request(spec.name(), rawArgs, env, System.getProperty("user.dir"),
            CallerContext.umask(), CallerContext.limits(), tty, stdoutTty, size[0], size[1]);

        FrameChannel ch = new FrameChannel(conn.channel(), IO_BUFFER, true);
        try {
            ch.write(request.toFrame());
            boolean interactive = tty && stdinTty && !parsed.has("detach");
            Stty.Restore raw = interactive ? Stty.raw() : null;
            try {
                installSignals(ch, interactive);
                if (usesStdin()) {
                    startStdinPump(ch, tty && stdinTty && spec.name().equals("attach"));
                }
                return pump(ch);
            } finally {
                if (raw != null) {
                    raw.close();
                }
            }
        } catch (IOException e) {
            if (detachedByKey) {
                err.print("\r\n[detached: the process keeps running]\r\n");
                err.flush();
                return 0;
            }
            err.println("gestalt: lost the connection to node (" + conn.socket() + "): " + e.getMessage());
            return failureCode();
        } finally {
            // A CLI that halts next leaves the socket to the kernel: closing a SocketChannel
            // initialises the JDK's IP networking (sun.nio.ch.Net, InetAddress, libextnet),
            // ~2 ms after the exit code is already in.
            if (!Main.halts) {
                try {
                    ch.close();
                } catch (IOException e) {
                    // closing anyway
                }
            }
        }
    }

    private boolean wantsTty(boolean stdinTty, boolean stdoutTty) {
        return switch (spec.name()) {
            case "run" -> parsed.has("detach") ? parsed.has("tty")
                : !parsed.has("no-tty") && (parsed.has("tty") || stdinTty && stdoutTty);
            case "attach" -> !parsed.has("no-tty") && stdinTty && stdoutTty;
            default -> false;
        };
    }

    private boolean usesStdin() {
        return switch (spec.name()) {
            case "run" -> !parsed.has("detach");
            case "attach" -> true;
            case "forall" -> true; // the node asks for stdin (credit) only when it reads it: no ::: at all, or :::: -
            default -> false;
        };
    }

    private int pump(FrameChannel ch) throws IOException {
        var stdout = new FileOutputStream(FileDescriptor.out).getChannel();
        var stderr = new FileOutputStream(FileDescriptor.err).getChannel();
        while (true) {
            FrameChannel.Header h = ch.readHeader();
            if (h == null) {
                err.println("gestalt: the node closed the connection");
                return failureCode();
            }
            switch (h.type()) {
                case Frame.STDOUT -> ch.transferPayload(h, stdout);
                case Frame.STDERR -> ch.transferPayload(h, stderr);
                case Frame.CREDIT -> stdinCredit.grant(ch.readPayload(h).intAt(0));
                case Frame.EXIT -> {
                    stdinCredit.close();
                    return ch.readPayload(h).intAt(0);
                }
                default -> ch.readPayload(h); // a newer node's frame: skip it
            }
        }
    }

    private void installSignals(FrameChannel ch, boolean tty) {
        for (String name : FORWARDED) {
            int number = Signals.parse(name).orElseThrow();
            try {
                Signal.handle(new Signal(name), s -> sendQuietly(ch, Frame.ofInt(Frame.SIGNAL, number)));
            } catch (IllegalArgumentException e) {
                // the JVM reserves this signal (QUIT without -Xrs): it keeps its default action
            }
        }
        if (tty) {
            Signal.handle(new Signal("WINCH"), s -> {
                int[] w = Stty.size();
                if (w[0] > 0) {
                    sendQuietly(ch, Frame.ofInts(Frame.RESIZE, w[0], w[1]));
                }
            });
        }
    }

    private void startStdinPump(FrameChannel ch, boolean detachKey) {
        Thread t = new Thread(() -> {
            // straight from fd 0 into a direct buffer, and from there to the socket with the frame header
            FileChannel in = new FileInputStream(FileDescriptor.in).getChannel();
            ByteBuffer buf = ByteBuffer.allocateDirect(IO_BUFFER);
            boolean resized = false;
            try {
                while (true) {
                    int allowed = stdinCredit.take(buf.capacity());
                    if (allowed < 0) {
                        return;
                    }
                    buf.clear().limit(allowed);
                    int n = in.read(buf);
                    if (n <= 0) {
                        break;
                    }
                    stdinCredit.giveBack(allowed - n);
                    if (n == PIPE_DEFAULT && !resized) {
                        // a full default pipe: bulk input. A bigger pipe gives bigger reads, and
                        // fewer frames and messages per byte all the way (not done for a trickle:
                        // binding libc costs start-up time).
                        resized = true;
                        Pipes.resize(0, IO_BUFFER * 4);
                    }
                    buf.flip();
                    if (detachKey) {
                        int k = indexOf(buf, DETACH_KEY);
                        if (k >= 0) {
                            if (k > 0) {
                                ch.write(Frame.STDIN, buf.limit(k));
                            }
                            detachedByKey = true;
                            ch.close(); // the node keeps the process; pump() sees the end
                            return;
                        }
                    }
                    ch.write(Frame.STDIN, buf);
                }
                ch.write(Frame.of(Frame.STDIN_EOF));
            } catch (IOException | InterruptedException e) {
                // the session ended; pump() reports it
            }
        }, "stdin");
        t.setDaemon(true);
        t.start();
    }

    private static int indexOf(ByteBuffer b, int value) {
        for (int i = b.position(); i < b.limit(); i++) {
            if (b.get(i) == value) {
                return i - b.position();
            }
        }
        return -1;
    }

    private static void sendQuietly(FrameChannel ch, Frame f) {
        try {
            ch.write(f);
        } catch (IOException ignored) {
            // session over
        }
    }
}

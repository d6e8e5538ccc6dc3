package dev.gestalt.cli;

import dev.gestalt.command.CommandSpec;
import dev.gestalt.command.Commands;
import dev.gestalt.command.ParsedArgs;

import dev.gestalt.os.Signals;
import dev.gestalt.rpc.local.Credit;
import dev.gestalt.rpc.local.Frame;
import dev.gestalt.rpc.local.FrameChannel;
import dev.gestalt.rpc.local.NodeLink;
import dev.gestalt.rpc.local.Request;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import sun.misc.Signal;

/**
 * The CLI side of a command that runs on the node: sends the request and the
 * caller's context, then pumps stdin, signals and window sizes up and
 * stdout/stderr down until the node sends the exit code. Like ssh, it is a
 * thin pipe: everything the command does happens on the node.
 *
 * <p>It never waits on its node without bound ({@link NodeLink}): a node that
 * stops answering ends the session with 255 and "node NAME not answering", a
 * signal it does not acknowledge ends the client as the signal would. Commands
 * with a program at the other end (run, attach, forall, top) forward SIGINT,
 * SIGTERM, SIGHUP and SIGQUIT to it; the others (wait, logs, ps...) end at once,
 * as a local program would. The terminal goes raw only once the node says the
 * program has one, and Gestalt's own messages are printed after it is restored.
 */
final class RemoteSession {

    private static final List<String> FORWARDED = List.of("INT", "TERM", "HUP", "QUIT");

    /** Read-ahead from the node. */
    private static final int IO_BUFFER = 256 * 1024;
    /** Exit code when stdout or stderr is closed under us, as a program killed by SIGPIPE has. */
    private static final int SIGPIPE_CODE = 128 + 13;

    private final CommandSpec spec;
    private final ParsedArgs parsed;
    private final List<String> rawArgs;
    private final Map<String, String> env;
    private final PrintStream err;
    private final boolean verbose;
    private final Credit stdinCredit = new Credit(0);
    private final AtomicBoolean finished = new AtomicBoolean();
    private volatile boolean detachedByKey;
    private boolean interactive;
    private NodeLink link;
    private final RawTerminal terminal;

    RemoteSession(CommandSpec spec, ParsedArgs parsed, List<String> rawArgs, Map<String, String> env, PrintStream err,
                  boolean verbose) {
        this.spec = spec;
        this.parsed = parsed;
        this.rawArgs = rawArgs;
        this.env = env;
        this.err = err;
        this.verbose = verbose;
        this.terminal = new RawTerminal(err);
    }

    /** Exit code of a failure of Gestalt itself for this command. */
    private int failureCode() {
        return Commands.failureCode(spec.name());
    }

    int run() {
        boolean stdinTty = CallerContext.isTerminal(0);
        boolean stdoutTty = CallerContext.isTerminal(1);
        boolean tty = wantsTty(stdinTty, stdoutTty);
        interactive = tty && stdinTty && !parsed.has("detach");
        int[] size = tty && stdinTty ? Stty.size() : new int[] {0, 0};
        Frame request = new Request(spec.name(), rawArgs, env, System.getProperty("user.dir"),
            CallerContext.umask(), tty, stdoutTty, size[0], size[1]).toFrame();
        if (request.payload().length > Frame.MAX_REQUEST) {
            return fail("gestalt " + spec.name() + ": arguments and environment take " + request.payload().length
                + " bytes, more than the " + Frame.MAX_REQUEST + " a node takes", null, failureCode());
        }
        try {
            link = NodeLocator.connect(env, IO_BUFFER, true);
        } catch (NodeLocator.NoNodeException e) {
            return fail("gestalt: " + e.getMessage(), e, failureCode());
        }
        link.onVerdict(this::verdictWhileBlocked);
        FrameChannel ch = link.frames();
        try {
            try {
                ch.writeWhole(request);
            } catch (IOException e) {
                // the node refused before reading it all (it says why, next) or is gone (pump() says so)
            }
            if (forwardsSignals()) {
                installSignals(ch);
            }
            if (usesStdin() && !(interactive && spec.name().equals("attach"))) {
                startStdinPump(ch, false);
            }
            return pump(ch);
        } catch (OutputClosed e) {
            return SIGPIPE_CODE; // as a local program whose reader went away: quietly
        } catch (IOException e) {
            return ended(e);
        } finally {
            terminal.restore();
            // A CLI that halts next leaves the socket to the kernel: closing a SocketChannel
            // initialises the JDK's IP networking (sun.nio.ch.Net, InetAddress, libextnet),
            // ~2 ms after the exit code is already in.
            if (!Main.halts) {
                link.close();
            }
        }
    }

    /** Why the session ended without an exit code, said once, and the code for it. */
    private int ended(IOException e) {
        if (detachedByKey) {
            terminal.say("\r\n[detached: the process keeps running]");
            return 0;
        }
        return switch (link.verdict()) {
            case NodeLink.Verdict.NotAnswering v -> fail("gestalt: node " + v.node() + " not answering", null, failureCode());
            case NodeLink.Verdict.SignalNotDelivered v -> fail("gestalt: node " + v.node() + " not answering: SIG"
                + Signals.name(v.signal()) + " not delivered", null, 128 + v.signal());
            case null -> fail("gestalt: lost the connection to node " + link.node() + " (" + link.socket() + "): "
                + e.getMessage(), e, failureCode());
        };
    }

    private int fail(String message, Exception e, int code) {
        if (finished.compareAndSet(false, true)) {
            terminal.say(message);
            if (verbose && e != null) {
                terminal.stackTrace(e);
            }
        }
        return code;
    }

    /**
     * The node was given up while the main thread is not reading it (it writes output to a
     * reader that does not read): the session ends here, a moment later, unless it ended by itself.
     */
    private void verdictWhileBlocked() {
        if (!Main.halts) {
            return;
        }
        try {
            Thread.sleep(1000);
        } catch (InterruptedException e) {
            return;
        }
        int code = ended(new IOException("given up"));
        terminal.restore();
        err.flush();
        Runtime.getRuntime().halt(code);
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

    /** Whether a program at the other end receives our signals; without one, a signal ends the CLI at once. */
    private boolean forwardsSignals() {
        return switch (spec.name()) {
            case "run" -> !parsed.has("detach");
            case "attach", "forall", "top" -> true;
            default -> false;
        };
    }

    private int pump(FrameChannel ch) throws IOException {
        var stdout = new Output(new FileOutputStream(FileDescriptor.out).getChannel());
        var stderr = new Output(new FileOutputStream(FileDescriptor.err).getChannel());
        while (true) {
            FrameChannel.Header h = ch.readHeader();
            if (h == null) {
                return fail("gestalt: node " + link.node() + " closed the connection", null, failureCode());
            }
            switch (h.type()) {
                case Frame.STDOUT -> ch.transferPayload(h, stdout);
                case Frame.STDERR -> {
                    if (terminal.isRaw()) {
                        terminal.hold(ch.readPayload(h).payload());
                    } else {
                        ch.transferPayload(h, stderr);
                    }
                }
                case Frame.CREDIT -> stdinCredit.grant(ch.readPayload(h).intAt(0));
                case Frame.TERMINAL -> terminal(ch, ch.readPayload(h).intAt(0) == 1);
                case Frame.EXIT -> {
                    stdinCredit.close();
                    finished.set(true);
                    return ch.readPayload(h).intAt(0);
                }
                default -> ch.readPayload(h); // a keepalive, or a newer node's frame: skip it
            }
        }
    }

    /** The node says whether the program has a terminal: an interactive session goes raw now. */
    private void terminal(FrameChannel ch, boolean program) {
        if (!interactive || !program) {
            return;
        }
        terminal.raw();
        if (spec.name().equals("attach")) {
            startStdinPump(ch, true);
        }
    }

    private void installSignals(FrameChannel ch) {
        for (String name : FORWARDED) {
            int number = Signals.parse(name).orElseThrow();
            try {
                Signal.handle(new Signal(name), s -> {
                    link.signalForwarded(number);
                    if (sendQuietly(ch, Frame.ofInt(Frame.SIGNAL, number))) {
                        link.signalWritten();
                    }
                });
            } catch (IllegalArgumentException e) {
                // the JVM reserves this signal (QUIT without -Xrs): it keeps its default action
            }
        }
        if (interactive) {
            Signal.handle(new Signal("WINCH"), s -> {
                int[] w = Stty.size();
                if (w[0] > 0) {
                    sendQuietly(ch, Frame.ofInts(Frame.RESIZE, w[0], w[1]));
                }
            });
        }
    }

    private void startStdinPump(FrameChannel ch, boolean detachKey) {
        StdinPump.start(ch, stdinCredit, detachKey ? () -> detachedByKey = true : null);
    }

    private static boolean sendQuietly(FrameChannel ch, Frame f) {
        try {
            ch.write(f);
            return true;
        } catch (IOException ignored) {
            return false; // session over
        }
    }

    /** Our stdout or stderr is closed (EPIPE): not a failure of the node. */
    private static final class OutputClosed extends IOException {
        OutputClosed(IOException cause) {
            super(cause);
        }
    }

    /** fd 1 or 2, whose failures are told apart from the socket's. */
    private record Output(WritableByteChannel fd) implements WritableByteChannel {
        @Override
        public int write(ByteBuffer src) throws IOException {
            try {
                return fd.write(src);
            } catch (IOException e) {
                throw new OutputClosed(e);
            }
        }

        @Override
        public boolean isOpen() {
            return fd.isOpen();
        }

        @Override
        public void close() throws IOException {
            fd.close();
        }
    }
}

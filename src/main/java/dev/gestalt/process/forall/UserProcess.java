package dev.gestalt.process.forall;

import com.google.protobuf.ByteString;
import dev.gestalt.process.ProcessSpace;
import dev.gestalt.process.RunCommand;
import dev.gestalt.process.remote.RemoteExec;
import dev.gestalt.rpc.local.ClientSession;
import dev.gestalt.rpc.proto.ExecIn;
import dev.gestalt.rpc.proto.ProcessSpec;
import dev.gestalt.rpc.proto.Started;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * A small process run as forall's caller on this node (the caller's own node: the files it
 * names are the files it sees), for what the daemon must not do as root on a user's behalf:
 * read the argument files the caller names, write the joblog it names. It is a job like any
 * other (the caller's uid, groups, cwd, umask and environment), started through the same
 * path as a task.
 */
final class UserProcess {

    private static final int STDERR_KEPT = 4096;

    private final RemoteExec exec;
    private final CompletableFuture<Integer> exit = new CompletableFuture<>();
    private final ByteArrayOutputStream stderr = new ByteArrayOutputStream();

    private UserProcess(ProcessSpace space, ProcessSpec spec, Consumer<ByteString> stdout) throws IOException,
        dev.gestalt.rpc.GestaltException {
        String node = space.self();
        this.exec = RemoteExec.open(space::channel, node, ExecIn.newBuilder().setStart(spec).build(), false,
            new RemoteExec.Events() {
                @Override
                public void started(Started s) { }

                @Override
                public void stdout(ByteString data) {
                    stdout.accept(data);
                }

                @Override
                public void stderr(ByteString data) {
                    synchronized (stderr) {
                        if (stderr.size() < STDERR_KEPT) {
                            stderr.writeBytes(data.substring(0, Math.min(data.size(), STDERR_KEPT - stderr.size())).toByteArray());
                        }
                    }
                }

                @Override
                public void exit(int code, String reason) {
                    if (code == 255 && reason != null && !reason.isEmpty()) {
                        synchronized (stderr) {
                            stderr.writeBytes(reason.getBytes(StandardCharsets.UTF_8));
                        }
                    }
                    exit.complete(code);
                }
            });
    }

    /** Starts {@code argv} as the caller of {@code s}; its stdout goes to {@code stdout} (which may wait). */
    static UserProcess start(ProcessSpace space, RunCommand run, ClientSession s, List<String> argv,
                             Consumer<ByteString> stdout) throws IOException, dev.gestalt.rpc.GestaltException {
        return new UserProcess(space, run.spec(s, space.newGpid(), argv, false, false), stdout);
    }

    /** Input for the process (waits while its stream is full). */
    void write(byte[] b) throws IOException {
        exec.stdin(b, 0, b.length);
    }

    /** The end of its input; nothing to do when it has ended already (e.g. a cat of a small file). */
    void closeInput() {
        try {
            exec.stdinEof();
        } catch (IOException e) {
            // ended: it needs no more input
        }
    }

    CompletableFuture<Integer> exit() {
        return exit;
    }

    /** What the process said on stderr (the first few KiB), on one line. */
    String stderr() {
        synchronized (stderr) {
            return stderr.toString(StandardCharsets.UTF_8).strip().replace('\n', ' ');
        }
    }

    void kill() {
        exec.cancel("forall ended");
    }
}

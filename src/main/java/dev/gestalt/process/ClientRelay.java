package dev.gestalt.process;

import com.google.protobuf.ByteString;
import dev.gestalt.process.remote.RemoteExec;
import dev.gestalt.rpc.local.ClientSession;
import dev.gestalt.rpc.proto.Started;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;

/**
 * Relays a remote process's output to the CLI client on this node, and its
 * end to {@link #exit()}. Blocking writes to the client are the backpressure:
 * a client that stops reading stops the next message from being requested.
 */
final class ClientRelay implements RemoteExec.Events {

    private final ClientSession client;
    private final CompletableFuture<Started> started = new CompletableFuture<>();
    private final CompletableFuture<Integer> exit = new CompletableFuture<>();
    private volatile boolean cwdAbsent;

    ClientRelay(ClientSession client) {
        this.client = client;
    }

    CompletableFuture<Started> started() {
        return started;
    }

    CompletableFuture<Integer> exit() {
        return exit;
    }

    /** Whether the execution node did not start the process: it lacks its working directory. */
    boolean cwdAbsent() {
        return cwdAbsent;
    }

    /** Not told to the client: the process is placed again (see {@link RunCommand}). */
    @Override
    public void cwdAbsent(String reason) {
        cwdAbsent = true;
        exit.complete(255);
    }

    @Override
    public void started(Started s) {
        started.complete(s);
    }

    @Override
    public void stdout(ByteString data) throws IOException {
        client.stdout(data.asReadOnlyByteBuffer());
    }

    @Override
    public void stderr(ByteString data) throws IOException {
        client.stderr(data.asReadOnlyByteBuffer());
    }

    /** A reason is Gestalt's own failure (node lost, permission denied...): the client is told, whatever the code. */
    @Override
    public void exit(int code, String reason) {
        if (reason != null && !reason.isEmpty() && !client.clientGone()) {
            try {
                client.err("gestalt: " + reason + "\n");
            } catch (RuntimeException e) {
                // the client is gone
            }
        }
        exit.complete(code);
    }
}

package dev.gestalt.rpc.local;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Runs one command on a node and collects its output: for programs that talk
 * to a node (cluster up waiting for the view, tests), not for people.
 */
public final class LocalClient {

    private LocalClient() {}

    public record Result(int exitCode, String stdout, String stderr) {}

    /**
     * Runs {@code command} on the node at {@code socket}.
     *
     * @throws NodeLink.NotAnsweringException when the node does not greet in time or then stops answering
     */
    public static Result call(Path socket, String command, List<String> args) throws IOException {
        try (NodeLink link = NodeLink.open(socket, Frame.HELLO_TIMEOUT_MILLIS, 16 * 1024, false)) {
            var frames = link.frames();
            frames.writeWhole(new Request(command, args, Map.copyOf(System.getenv()), System.getProperty("user.dir"),
                022, new long[0], false, false, 0, 0).toFrame());
            try {
                frames.write(Frame.of(Frame.STDIN_EOF));
            } catch (IOException e) {
                // a command that reads no stdin may have answered and closed already: its answer is still to be read
            }
            var out = new ByteArrayOutputStream();
            var err = new ByteArrayOutputStream();
            while (true) {
                Frame f;
                try {
                    f = frames.read();
                } catch (IOException e) {
                    if (link.verdict() != null) {
                        throw new NodeLink.NotAnsweringException("node " + link.node() + " is not answering");
                    }
                    throw e;
                }
                if (f == null) {
                    throw new IOException("node closed the connection before the exit code");
                }
                switch (f.type()) {
                    case Frame.STDOUT -> out.writeBytes(f.payload());
                    case Frame.STDERR -> err.writeBytes(f.payload());
                    case Frame.EXIT -> {
                        return new Result(f.intAt(0), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
                    }
                    default -> { }
                }
            }
        }
    }
}

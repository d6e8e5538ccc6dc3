package dev.gestalt.cli;

import dev.gestalt.rpc.local.Frame;
import dev.gestalt.rpc.local.NodeLink;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Finds and connects to the node this CLI talks to: {@code GESTALT_NODE} if
 * set, else the first live node of this user's local cluster, else (for a
 * non-root user) the machine's cluster started by root. A node that is down,
 * or that does not greet within {@link Frame#HELLO_TIMEOUT_MILLIS} (frozen,
 * wedged), is passed over for the next one; the last one gets the full
 * {@link Frame#ANSWER_TIMEOUT_MILLIS}.
 */
public final class NodeLocator {

    private NodeLocator() {}

    public static final class NoNodeException extends IOException {
        NoNodeException(String message) {
            super(message);
        }
    }

    /** The socket of a node deployed with 'gestalt init' and systemd. */
    static final Path DEPLOYED = Path.of("/run/gestalt/node.sock");

    /** A greeted connection to the first node that answers, reading ahead up to {@code readBuffer} bytes. */
    public static NodeLink connect(Map<String, String> env, int readBuffer, boolean direct) throws NoNodeException {
        List<Path> candidates = new ArrayList<>();
        String explicit = env.get("GESTALT_NODE");
        if (explicit != null && !explicit.isEmpty()) {
            candidates.add(Path.of(explicit));
        } else {
            Path home = Paths.home(env);
            candidates.addAll(readPointer(Paths.currentPointer(home)));
            if (!Paths.isRoot() && !home.equals(Paths.MACHINE_HOME)) {
                candidates.addAll(readPointer(Paths.currentPointer(Paths.MACHINE_HOME)));
            }
            if (candidates.isEmpty() && java.nio.file.Files.exists(DEPLOYED)) {
                candidates.add(DEPLOYED);
            }
        }
        if (candidates.isEmpty()) {
            throw new NoNodeException("no Gestalt node found: start a local cluster with 'gestalt cluster up'"
                + " or set GESTALT_NODE to a node's socket");
        }
        IOException last = null;
        for (int i = 0; i < candidates.size(); i++) {
            long hello = i == candidates.size() - 1 ? Frame.ANSWER_TIMEOUT_MILLIS : Frame.HELLO_TIMEOUT_MILLIS;
            try {
                return NodeLink.open(candidates.get(i), hello, readBuffer, direct);
            } catch (IOException e) {
                last = e;
            }
        }
        String why = last == null || last.getMessage() == null ? "" : ": " + last.getMessage();
        throw new NoNodeException("cannot reach a Gestalt node (tried " + candidates.size() + " socket"
            + (candidates.size() == 1 ? " " + candidates.getFirst() : "s") + why + ")");
    }

    private static List<Path> readPointer(Path pointer) {
        try {
            List<Path> out = new ArrayList<>();
            for (String line : Files.readAllLines(pointer)) {
                if (!line.isBlank() && !line.startsWith("#")) {
                    out.add(Path.of(line.trim()));
                }
            }
            return out;
        } catch (IOException e) {
            return List.of();
        }
    }
}

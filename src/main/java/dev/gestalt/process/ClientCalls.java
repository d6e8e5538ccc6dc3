package dev.gestalt.process;

import dev.gestalt.rpc.GestaltException;
import dev.gestalt.rpc.local.ClientSession;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Calls from this node to the node that runs a process, made for one client that waits on them
 * (wait, logs): each ends as soon as membership says that node left, with "node NAME lost"
 * (255), rather than waiting on a node that will never answer; all end as soon as the client
 * goes away; and their failures are said in Gestalt's words, about what the client named.
 * One per session: it watches the client's side of the connection.
 */
final class ClientCalls {

    /** The call itself, made on the channel to the node. */
    @FunctionalInterface
    interface Body<T> {
        T call(ManagedChannel channel) throws Exception;
    }

    private final ProcessSpace space;
    private final ClientSession session;
    private final Context.CancellableContext client = Context.current().withCancellation();

    ClientCalls(ProcessSpace space, ClientSession session) {
        this.space = space;
        this.session = session;
        session.onGone(() -> client.cancel(null));
    }

    /**
     * Runs {@code body} against {@code node} for the process the client calls {@code subject}.
     *
     * @throws GestaltException.NodeLost when the node leaves the view meanwhile
     * @throws IOException when {@code body} failed to write to the client (it is gone)
     */
    <T> T call(String node, String subject, Body<T> body) throws GestaltException, IOException {
        var ctx = client.withCancellation();
        var lost = new AtomicBoolean();
        try (var watch = space.onNodeLost(node, () -> {
            lost.set(true);
            ctx.cancel(null);
        })) {
            Context prev = ctx.attach();
            try {
                return body.call(space.channel(node));
            } finally {
                ctx.detach(prev);
            }
        } catch (GestaltException e) {
            throw e.about(subject);
        } catch (IOException e) {
            throw e;
        } catch (Exception e) {
            if (lost.get()) {
                throw new GestaltException.NodeLost("node " + node + " lost");
            }
            throw GestaltException.fromStatus(e, node).about(subject);
        } finally {
            ctx.cancel(null);
        }
    }
}

package dev.gestalt.process;

import dev.gestalt.rpc.GestaltException;
import io.grpc.ManagedChannel;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Asks several nodes at once (every node in the view, or the nodes that hold
 * the GPIDs in question), each with a bounded timeout: an unreachable node is
 * reported as such, never a hang.
 */
public final class Fanout {

    public static final long TIMEOUT_MILLIS = 3000;

    private Fanout() {}

    /** One node's answer or why there is none. */
    public record Answer<T>(String node, T value, String error) {
        public boolean ok() {
            return error == null;
        }
    }

    @FunctionalInterface
    public interface Call<T> {
        T call(ManagedChannel channel, long timeoutMillis) throws Exception;
    }

    /** A question that depends on the node asked (e.g. the GPIDs that node holds). */
    @FunctionalInterface
    public interface NodeCall<T> {
        T call(String node, ManagedChannel channel, long timeoutMillis) throws Exception;
    }

    public static <T> List<Answer<T>> ask(ProcessSpace space, List<String> nodes, Call<T> call) {
        return ask(space, nodes, (NodeCall<T>) (node, ch, timeout) -> call.call(ch, timeout));
    }

    public static <T> List<Answer<T>> ask(ProcessSpace space, java.util.Collection<String> nodes, NodeCall<T> call) {
        Map<String, Future<T>> futures = new LinkedHashMap<>();
        try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (String n : nodes) {
                futures.put(n, pool.submit(() -> {
                    ManagedChannel ch = space.channel(n);
                    return call.call(n, ch, TIMEOUT_MILLIS);
                }));
            }
            List<Answer<T>> out = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MILLIS + 500);
            for (var e : futures.entrySet()) {
                try {
                    long left = Math.max(0, deadline - System.nanoTime());
                    out.add(new Answer<>(e.getKey(), e.getValue().get(left, TimeUnit.NANOSECONDS), null));
                } catch (TimeoutException ex) {
                    e.getValue().cancel(true);
                    out.add(new Answer<>(e.getKey(), null, "no answer within " + TIMEOUT_MILLIS + " ms"));
                } catch (ExecutionException ex) {
                    Throwable c = ex.getCause();
                    String why = c instanceof GestaltException g ? g.getMessage()
                        : GestaltException.fromStatus(c, e.getKey()).getMessage();
                    out.add(new Answer<>(e.getKey(), null, why));
                } catch (InterruptedException ex) {
                    Thread.currentThread().interrupt();
                    out.add(new Answer<>(e.getKey(), null, "interrupted"));
                }
            }
            pool.shutdownNow();
            return out;
        }
    }
}

package dev.gestalt.process;

import dev.gestalt.format.Json;
import dev.gestalt.rpc.local.ClientSession;
import dev.gestalt.rpc.local.CommandHandler;
import dev.gestalt.rpc.proto.Event;
import dev.gestalt.rpc.proto.EventsReply;
import dev.gestalt.rpc.proto.EventsRequest;
import dev.gestalt.rpc.proto.ProcsGrpc;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * {@code gestalt events [-f] [--json]}: what happened in the cluster, every node's events merged
 * by time (processes moved, by whom and why, moves that failed, drains, nodes joining and
 * leaving). With {@code -f}, then each new one as it comes, until Ctrl-C. Nodes that do not
 * answer are said on stderr; their events show once they answer.
 */
public final class EventsCommand implements CommandHandler {
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneId.systemDefault());
    private static final long POLL_MILLIS = 1000;

    private final ProcessSpace space;

    public EventsCommand(ProcessSpace space) {
        this.space = space;
    }

    @Override
    public int handle(ClientSession s) throws Exception {
        boolean json = s.args().has("json");
        boolean follow = s.args().has("follow");
        Map<String, Long> after = new HashMap<>();
        Set<String> silent = new HashSet<>();
        List<Event> first = fetch(s, after, silent);
        if (json && !follow) {
            s.out(Json.write(first.stream().map(EventsCommand::json).toList()) + "\n");
            return 0;
        }
        if (!json) {
            s.out(String.format("%-19s  %-10s  %-12s  %-8s  %s%n", "TIME", "NODE", "EVENT", "GPID", "DETAIL"));
        }
        print(s, first, json);
        if (!follow) {
            return 0;
        }
        var gone = new CountDownLatch(1);
        s.onGone(gone::countDown);
        while (!gone.await(POLL_MILLIS, TimeUnit.MILLISECONDS)) {
            print(s, fetch(s, after, silent), json);
        }
        return 0;
    }

    /** Every node's events after what was shown of it, merged by time; says once on stderr which node does not answer. */
    private List<Event> fetch(ClientSession s, Map<String, Long> after, Set<String> silent) {
        List<Event> out = new ArrayList<>();
        var answers = Fanout.ask(space, space.members(), (node, ch, timeout) -> ProcsGrpc.newBlockingStub(ch)
            .withDeadlineAfter(timeout, TimeUnit.MILLISECONDS)
            .events(EventsRequest.newBuilder().setAfterSeq(after.getOrDefault(node, 0L)).build()));
        for (Fanout.Answer<EventsReply> a : answers) {
            if (!a.ok()) {
                if (silent.add(a.node())) {
                    s.err("gestalt events: " + a.node() + " did not answer: " + a.error() + "\n");
                }
                continue;
            }
            silent.remove(a.node());
            List<Event> got = a.value().getEventsList();
            out.addAll(got);
            long seen = after.getOrDefault(a.node(), 0L);
            if (!got.isEmpty()) {
                after.put(a.node(), got.getLast().getSeq());
            } else if (a.value().getLastSeq() < seen) {
                after.put(a.node(), 0L); // a new log (a node with a new state folder): from its start next time
            }
        }
        out.sort(Comparator.comparingLong(Event::getEpochMillis).thenComparing(Event::getNode).thenComparingLong(Event::getSeq));
        return out;
    }

    private static void print(ClientSession s, List<Event> events, boolean json) {
        for (Event e : events) {
            s.out(json ? Json.write(json(e)) + "\n" : String.format("%-19s  %-10s  %-12s  %-8s  %s%n",
                TIME.format(Instant.ofEpochMilli(e.getEpochMillis())), e.getNode(), e.getKind(),
                e.getGpid().isEmpty() ? "-" : e.getGpid(), e.getDetail()));
        }
    }

    private static Map<String, Object> json(Event e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("time", Instant.ofEpochMilli(e.getEpochMillis()).toString());
        m.put("epoch_millis", e.getEpochMillis());
        m.put("node", e.getNode());
        m.put("event", e.getKind());
        m.put("gpid", e.getGpid());
        m.put("detail", e.getDetail());
        return m;
    }
}

package dev.gestalt.process;

import dev.gestalt.command.ParsedArgs;
import dev.gestalt.command.UsageException;
import dev.gestalt.os.Posix;
import dev.gestalt.os.Signals;
import dev.gestalt.os.UserInfo;
import dev.gestalt.rpc.GestaltException;
import dev.gestalt.rpc.local.ClientSession;
import dev.gestalt.rpc.local.CommandHandler;
import dev.gestalt.rpc.proto.ProcsGrpc;
import dev.gestalt.rpc.proto.SignalJobsRequest;
import dev.gestalt.rpc.proto.SignalOutcome;
import dev.gestalt.rpc.proto.SignalReply;
import dev.gestalt.rpc.proto.SignalRequest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@code gestalt kill}: kill(1) for the cluster. IDs are GPIDs or NODE:PID; {@code -u USER}
 * and {@code --all} select every running job of a user (as {@code scancel -u}). Many GPIDs
 * cost one look-up per home node and one call per execution node, not one per GPID.
 */
public final class KillCommand implements CommandHandler {

    private final ProcessSpace space;

    public KillCommand(ProcessSpace space) {
        this.space = space;
    }

    @Override
    public int handle(ClientSession s) throws Exception {
        ParsedArgs a = s.args();
        if (a.has("list")) {
            StringBuilder sb = new StringBuilder();
            for (int i = 1; i <= Signals.max(); i++) {
                String n = Signals.name(i);
                if (n != null) {
                    sb.append(String.format("%2d) SIG%-8s", i, n)).append(i % 5 == 0 ? "\n" : " ");
                }
            }
            s.out(sb.toString().stripTrailing() + "\n");
            return 0;
        }
        String sigText = a.has("signal") ? a.get("signal") : "TERM";
        int signal = Signals.parse(sigText).orElseThrow(() -> new UsageException("kill", "unknown signal '" + sigText + "'"));
        if (a.has("all") || a.has("user")) {
            return byUser(s, a.has("user") ? uidOf(a.get("user")) : s.caller().uid(), signal);
        }
        Map<String, String> errors = new HashMap<>();
        var gpids = new java.util.LinkedHashSet<String>(); // a GPID given twice is signalled once
        for (String id : a.positionals()) {
            if (id.lastIndexOf(':') > 0) {
                try {
                    sendToPid(s, id, signal);
                } catch (GestaltException e) {
                    errors.put(id, e.getMessage());
                }
            } else if (!Gpid.looksLike(id)) {
                errors.put(id, id + ": not a GPID or NODE:PID");
            } else {
                gpids.add(id);
            }
        }
        errors.putAll(sendToGpids(s, List.copyOf(gpids), signal));
        for (String id : new java.util.LinkedHashSet<>(a.positionals())) {
            if (errors.containsKey(id)) {
                s.err("gestalt kill: " + errors.get(id) + "\n");
            }
        }
        return errors.isEmpty() ? 0 : 1;
    }

    /** Signals each GPID; returns a message for each GPID that was not signalled. */
    private Map<String, String> sendToGpids(ClientSession s, List<String> gpids, int signal) {
        if (gpids.isEmpty()) {
            return Map.of();
        }
        var located = ProcessQueries.locate(space, gpids);
        Map<String, List<String>> byNode = new LinkedHashMap<>();
        for (String g : gpids) {
            String node = located.nodes().get(g);
            if (node != null) {
                byNode.computeIfAbsent(node, k -> new ArrayList<>()).add(g);
            }
        }
        var answers = Fanout.ask(space, byNode.keySet(), (node, ch, timeout) -> ProcsGrpc.newBlockingStub(ch)
            .withDeadlineAfter(timeout, TimeUnit.MILLISECONDS)
            .signalJobs(SignalJobsRequest.newBuilder().addAllGpids(byNode.get(node)).setSignal(signal)
                .setCaller(ProcessQueries.caller(s)).build()).getOutcomesList());
        Map<String, String> why = new HashMap<>();
        for (var answer : answers) {
            if (!answer.ok()) {
                byNode.get(answer.node()).forEach(g -> why.put(g, answer.error()));
                continue;
            }
            for (SignalOutcome o : answer.value()) {
                switch (o.getKind()) {
                    case NOT_FOUND -> why.put(o.getGpid(), "no such process");
                    case EXITED -> why.put(o.getGpid(), "process has exited");
                    case DENIED -> why.put(o.getGpid(), "permission denied");
                    default -> { }
                }
            }
        }
        Map<String, String> errors = new HashMap<>();
        for (String g : gpids) {
            if (!located.nodes().containsKey(g)) {
                errors.put(g, ProcessQueries.missing(space, g, located.unreachable()).getMessage());
            } else if (why.containsKey(g)) {
                errors.put(g, g + ": " + why.get(g));
            }
        }
        return errors;
    }

    /** Every running job of {@code uid} on every node; root may name any user, others only themselves. */
    private int byUser(ClientSession s, int uid, int signal) throws GestaltException {
        if (!s.isRoot() && uid != s.caller().uid()) {
            throw new GestaltException.PermissionDenied("permission denied: only root may signal another user's processes");
        }
        var answers = Fanout.ask(space, space.members(), (ch, timeout) -> ProcsGrpc.newBlockingStub(ch)
            .withDeadlineAfter(timeout, TimeUnit.MILLISECONDS)
            .signalJobs(SignalJobsRequest.newBuilder().setByUid(true).setUid(uid).setSignal(signal)
                .setCaller(ProcessQueries.caller(s)).build()));
        int failures = 0;
        for (var answer : answers) {
            if (!answer.ok()) {
                s.err("gestalt kill: node " + answer.node() + " did not answer: " + answer.error() + "\n");
                failures++;
            }
        }
        return failures == 0 ? 0 : 1;
    }

    private static int uidOf(String user) throws GestaltException.NotFound {
        if (!user.isEmpty() && user.chars().allMatch(Character::isDigit)) {
            try {
                return Integer.parseInt(user);
            } catch (NumberFormatException e) {
                throw new GestaltException.NotFound("no such user: " + user);
            }
        }
        return Posix.getpwnam(user).map(UserInfo::uid)
            .orElseThrow(() -> new GestaltException.NotFound("no such user: " + user));
    }

    /** NODE:PID, a process of that node by its host pid. */
    private void sendToPid(ClientSession s, String id, int signal) throws GestaltException {
        var req = SignalRequest.newBuilder().setSignal(signal).setCaller(ProcessQueries.caller(s));
        int colon = id.lastIndexOf(':');
        String node = id.substring(0, colon);
        try {
            req.setPid(Long.parseLong(id.substring(colon + 1)));
        } catch (NumberFormatException e) {
            throw new GestaltException.BadRequest(id + ": not a GPID or NODE:PID");
        }
        if (!space.members().contains(node)) {
            throw new GestaltException.NotFound(id + ": no node named " + node + " in the cluster");
        }
        SignalReply reply;
        try {
            reply = ProcsGrpc.newBlockingStub(space.channel(node)).withDeadlineAfter(Fanout.TIMEOUT_MILLIS, TimeUnit.MILLISECONDS)
                .signal(req.build());
        } catch (RuntimeException e) {
            throw GestaltException.fromStatus(e, node).about(id);
        }
        if (!reply.getFound()) {
            throw new GestaltException.NotFound(id + ": no such process");
        }
    }
}

package dev.gestalt.files;

import dev.gestalt.cluster.Membership;
import dev.gestalt.format.JsonReader;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * {@code fs status} of a MooseFS file space: the replicated decision (master, metaloggers,
 * epoch) and the master's own report ({@code mfscli -j}: chunkservers with their space,
 * mounted clients, chunks under goal), matched to node names by address.
 */
final class MooseFsStatus {

    private final FilesConfig cfg;
    private final String self;
    private final FileSpaceState state;
    private final Membership membership;
    private final Function<String, String> addressOf;
    private final String problem;
    private final boolean mountedHere;

    MooseFsStatus(FilesConfig cfg, String self, FileSpaceState state, Membership membership,
                  Function<String, String> addressOf, String problem, boolean mountedHere) {
        this.cfg = cfg;
        this.self = self;
        this.state = state;
        this.membership = membership;
        this.addressOf = addressOf;
        this.problem = problem;
        this.mountedHere = mountedHere;
    }

    FsStatus read() {
        String masterAddress = state.hasMaster() ? addressOf.apply(state.master()) : null;
        Map<String, Object> servers = Map.of();
        Map<String, Object> mounts = Map.of();
        Map<String, Object> chunks = Map.of();
        String version = "";
        String detail = problem;
        if (masterAddress != null && membership.isMember(state.master())) {
            Object cs = mfscli(masterAddress, "-SCS");
            Object ms = mfscli(masterAddress, "-SMS");
            Object ic = mfscli(masterAddress, "-SIC");
            servers = byIp(cs, "chunkservers");
            mounts = byIp(ms, "mounts");
            chunks = summary(ic);
            version = cs instanceof Map<?, ?> m && m.get("version") instanceof String v ? v : "";
            if (cs == null && detail.isEmpty()) {
                detail = "the master on " + state.master() + " does not answer";
            }
        } else if (detail.isEmpty()) {
            detail = state.hasMaster() ? "the master's node " + state.master() + " is not in the view" : "no master yet";
        }
        long underGoal = number(chunks.get("undergoal")) + number(chunks.get("endangered"));
        long missing = number(chunks.get("missing"));
        if (chunks.isEmpty()) {
            underGoal = -1;
            missing = -1;
        }
        Set<String> names = new TreeSet<>(membership.loadTable().keySet());
        names.add(self);
        List<FsStatus.Node> rows = new ArrayList<>();
        Set<String> unmounted = new HashSet<>();
        for (String n : names) {
            String a = addressOf.apply(n);
            List<String> roles = new ArrayList<>();
            if (n.equals(state.master())) {
                roles.add("master");
            }
            if (state.metaloggers().contains(n)) {
                roles.add("metalogger");
            }
            Map<?, ?> srv = a == null ? null : (Map<?, ?>) servers.get(a);
            if (srv != null) {
                roles.add("chunkserver");
            }
            // this node knows its own mount; of the others, the master knows who has a session
            boolean mounted = n.equals(self) ? mountedHere : a != null && mounts.containsKey(a);
            if (!mounted && membership.isMember(n)) {
                unmounted.add(n);
            }
            rows.add(new FsStatus.Node(n, a == null ? "" : a, roles, mounted,
                srv == null ? -1 : number(srv.get("hdd_regular_used")), srv == null ? -1 : number(srv.get("hdd_regular_total"))));
        }
        String health;
        if (servers.isEmpty() && mounts.isEmpty()) {
            health = "down";
        } else if (missing > 0 || underGoal > 0 || !unmounted.isEmpty() || !problem.isEmpty()
                || state.metaloggers().size() < Math.min(MasterPlacement.METALOGGERS, names.size() - 1)) {
            health = "degraded";
            if (detail.isEmpty()) {
                detail = missing > 0 ? missing + " chunks have no copy"
                    : underGoal > 0 ? "restoring copies: " + underGoal + " chunks have fewer than " + cfg.copies()
                    : !unmounted.isEmpty() ? "not mounted on " + String.join(", ", new TreeSet<>(unmounted))
                    : "fewer metaloggers than wanted";
            }
        } else {
            health = "ok";
        }
        return new FsStatus("moosefs", version, cfg.mount().toString(), health, detail, state.master(),
            state.metaloggers(), state.epoch(), cfg.copies(), underGoal, missing, rows);
    }

    private Object mfscli(String address, String dataset) {
        var r = EngineProcess.run(List.of("mfscli", "-H", address, "-P", Integer.toString(cfg.port() + 2), "-j", dataset),
            Duration.ofSeconds(10));
        if (!r.ok()) {
            return null;
        }
        try {
            return JsonReader.parse(r.output().trim());
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static Map<String, Object> byIp(Object doc, String key) {
        Map<String, Object> out = new HashMap<>();
        if (doc instanceof Map<?, ?> d && d.get("dataset") instanceof Map<?, ?> ds && ds.get(key) instanceof List<?> list) {
            for (Object o : list) {
                if (o instanceof Map<?, ?> m && m.get("ip") instanceof String ip && !Boolean.FALSE.equals(m.get("connected"))) {
                    out.put(ip, m);
                }
            }
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> summary(Object doc) {
        if (doc instanceof Map<?, ?> d && d.get("dataset") instanceof Map<?, ?> ds && ds.get("info") instanceof Map<?, ?> info
                && info.get("chunks") instanceof Map<?, ?> ch && ch.get("summary") instanceof Map<?, ?> s
                && s.get("allchunks") instanceof Map<?, ?> all) {
            return (Map<String, Object>) all;
        }
        return Map.of();
    }

    private static long number(Object o) {
        return o instanceof Number n ? n.longValue() : 0;
    }
}

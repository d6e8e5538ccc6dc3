package dev.gestalt.process.remote;

import dev.gestalt.process.EventLog;
import dev.gestalt.process.Gpid;
import dev.gestalt.process.ProcessSpace;
import dev.gestalt.process.checkpoint.CheckpointStore;
import dev.gestalt.process.placement.PlacementRequest;
import dev.gestalt.rpc.proto.Caller;
import dev.gestalt.rpc.proto.CheckpointMeta;
import dev.gestalt.rpc.proto.CheckpointsGrpc;
import dev.gestalt.rpc.proto.RestartReply;
import dev.gestalt.rpc.proto.RestartRequest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * When a node leaves the cluster (dead, or cut off: see StaleCopies for its return), the home
 * node of each process that ran there with {@code run --checkpoint-every} restarts it from its
 * last checkpoint on a live node, with its GPID. Only a home node that sees more than half of
 * the most nodes it ever saw together acts (a node cut off alone restarts nothing); processes
 * whose home node died with them, and processes with only checkpoints taken by hand, are not
 * restarted (`gestalt restart` is there for them). A checkpoint that cannot be read at that moment
 * (the file space may still be turning away from the dead node's copies) is read again each round
 * for {@link #RETRY_MILLIS}, and the log says so.
 */
public final class AutoRestart implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(AutoRestart.class.getName());
    static final long ROUND_MILLIS = 2000;
    /**
     * How long the checkpoints of a node that left are read again while some cannot be read (the
     * file space may still be turning away from the dead node's copies).
     */
    static final long RETRY_MILLIS = 60_000;

    private final String nodeName;
    private final Supplier<ProcessSpace> space;
    private final CheckpointStore store;
    private final EventLog events;
    private Set<String> last = Set.of();
    private int peak;
    /** Nodes that left, whose processes' checkpoints are read again while some cannot be read. */
    private final Map<String, Departure> departed = new HashMap<>();

    /**
     * A node that left: until when its checkpoints are read again, the processes restarted
     * already (a later round leaves them alone), and whether the log said why it tries again.
     */
    private static final class Departure {
        final long until = System.currentTimeMillis() + RETRY_MILLIS;
        final Set<String> restarted = new HashSet<>();
        boolean said;
    }
    private volatile Thread loop;

    public AutoRestart(String nodeName, Supplier<ProcessSpace> space, CheckpointStore store, EventLog events) {
        this.nodeName = nodeName;
        this.space = space;
        this.store = store;
        this.events = events;
    }

    public void start() {
        loop = Thread.ofVirtual().name("auto-restart").start(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                try {
                    Thread.sleep(ROUND_MILLIS);
                    round();
                } catch (InterruptedException e) {
                    return;
                } catch (RuntimeException e) {
                    LOG.warning("auto-restart: " + e);
                }
            }
        });
    }

    private void round() {
        ProcessSpace s = space.get();
        if (s == null) {
            return;
        }
        Set<String> now = new HashSet<>(s.members());
        peak = Math.max(peak, now.size());
        Set<String> gone = new HashSet<>(last);
        gone.removeAll(now);
        last = now;
        for (String node : gone) {
            if (now.size() * 2 <= peak) {
                LOG.warning(node + " left, but this node sees " + now.size() + " of " + peak
                    + " nodes (no majority): it restarts none of its processes");
                continue;
            }
            departed.put(node, new Departure());
        }
        for (var it = departed.entrySet().iterator(); it.hasNext(); ) {
            var e = it.next();
            String node = e.getKey();
            Departure d = e.getValue();
            if (now.contains(node)) { // it came back: its processes run there (StaleCopies)
                it.remove();
                continue;
            }
            if (now.size() * 2 <= peak) {
                continue; // no majority now: nothing restarts meanwhile
            }
            String unreadable = restartFrom(s, node, d.restarted);
            if (unreadable == null) {
                it.remove();
            } else if (System.currentTimeMillis() > d.until) {
                LOG.warning(node + " left; checkpoints still unreadable after " + RETRY_MILLIS / 1000
                    + " s, their processes are not restarted (gestalt restart): " + unreadable);
                it.remove();
            } else if (!d.said) {
                d.said = true;
                LOG.warning(node + " left; checkpoints that cannot be read now, tried again for "
                    + RETRY_MILLIS / 1000 + " s: " + unreadable);
            }
        }
    }

    /**
     * Restarts the processes of this home node that ran on {@code dead}, each from its last
     * periodic checkpoint, but those in {@code done} (which it adds to). Returns why to try again
     * (a checkpoint that may be one of them could not be read), or null.
     */
    private String restartFrom(ProcessSpace s, String dead, Set<String> done) {
        Map<String, CheckpointMeta> latest = new HashMap<>();
        List<String> unreadable = new ArrayList<>();
        try {
            List<String> damaged = new ArrayList<>();
            for (var e : store.list(damaged)) {
                CheckpointMeta m = e.meta();
                String gpid = m.getJob().getGpid();
                if (!m.getPeriodic() || !Gpid.looksLike(gpid) || Gpid.parse(gpid).home() != s.selfId()
                        || !dead.equals(s.placements().node(Gpid.parse(gpid).seq()))) {
                    continue;
                }
                CheckpointMeta had = latest.get(gpid);
                if (had == null || had.getCreatedEpochMillis() < m.getCreatedEpochMillis()) {
                    latest.put(gpid, m);
                }
            }
            String mine = s.selfId() + "-"; // a checkpoint's name begins with its GPID
            damaged.stream().filter(d -> d.startsWith(mine)).forEach(unreadable::add);
        } catch (java.io.IOException e) {
            return "the folder of checkpoints: " + e.getMessage();
        }
        latest.keySet().removeAll(done);
        for (CheckpointMeta m : latest.values()) {
            String gpid = m.getJob().getGpid();
            done.add(gpid);
            List<String> avoid = List.of(dead);
            try {
                String target = s.place(PlacementRequest.ANY.avoiding(Set.copyOf(avoid))).node();
                RestartReply r = CheckpointsGrpc.newBlockingStub(s.channel(target)).withDeadlineAfter(5, TimeUnit.MINUTES)
                    .restart(RestartRequest.newBuilder().setName(m.getName()).setCaller(Caller.newBuilder().setUid(0)).build());
                String what = r.getError().isEmpty()
                    ? gpid + " restarted on " + target + " from " + m.getName() + ": " + dead + " left the cluster"
                    : gpid + " could not be restarted on " + target + " from " + m.getName() + " (" + dead + " left): " + r.getError();
                LOG.warning(what);
                events.record("restart", gpid, what);
            } catch (Exception e) {
                String what = gpid + " could not be restarted (" + dead + " left): " + e.getMessage();
                LOG.warning(what);
                events.record("restart", gpid, what);
            }
        }
        return unreadable.isEmpty() ? null : String.join("; ", unreadable);
    }

    @Override
    public void close() {
        Thread t = loop;
        if (t != null) {
            t.interrupt();
        }
    }
}

package dev.gestalt.process.remote;

import dev.gestalt.cluster.LoadEntry;
import dev.gestalt.cluster.LoadReport;
import dev.gestalt.cluster.Migration;
import dev.gestalt.process.ProcessSpace;
import dev.gestalt.process.supervisor.Job;
import dev.gestalt.process.supervisor.LaunchSpec;
import dev.gestalt.process.supervisor.LoadSample;
import dev.gestalt.process.supervisor.ProcSnapshot;
import dev.gestalt.process.supervisor.Supervisor;
import dev.gestalt.rpc.proto.Caller;
import dev.gestalt.rpc.proto.MoveProgress;
import dev.gestalt.rpc.proto.MoveRequest;
import io.grpc.stub.StreamObserver;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * Automatic load balancing, as MOSIX does it: a node whose busy jobs per CPU stay above another
 * node's by more than one job's worth moves one of them there. Each node decides for itself, on
 * what the cluster gossips; only the most loaded node moves at a time, and only while the
 * imbalance lasts {@value #SUSTAINED_ROUNDS} rounds; after a move it waits for the loads to
 * show it. A move happens only when it leaves this node no less loaded than the target (so the
 * reverse move is never worth it: no ping-pong), a process moved by the balancer stays where it
 * went for {@value #RESIDENCY_MILLIS} ms, and a process is moved only once it is old enough for
 * the move to pay: its expected downtime (its memory over the transfer rate) must be under a
 * tenth of its age. Never moved automatically: processes placed by name ({@code run -n}), those
 * started with {@code --no-migrate}, terminal jobs (what was typed ahead and not read yet is lost
 * in a move: the user decides), and what cannot move anyway. What this node sent a node counts
 * there until that node's reports can show it ({@link Arrivals}).
 */
public final class Balancer implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Balancer.class.getName());
    static final long ROUND_MILLIS = 3000;
    static final int SUSTAINED_ROUNDS = 2;
    /** After a move: long enough for both nodes' loads to be sampled and gossiped again. */
    static final long COOLDOWN_MILLIS = 6000;
    static final long RESIDENCY_MILLIS = 60_000;
    static final long MIN_AGE_MILLIS = 10_000;
    /** What a move carries per second, for the cost of moving a process (BENCHMARKS.md: 150-200 MB/s). */
    static final double BYTES_PER_SECOND = 150e6;
    /** A report older than this says nothing reliable about its node. */
    static final long STALE_MILLIS = 10_000;
    /**
     * How long after a process arrived a node's report may still not count it (sampled once a
     * second or less often, smoothed, then gossiped): reports made before that get it added.
     */
    static final long SEEN_AFTER_MILLIS = 5000;

    private final String self;
    private final Supervisor supervisor;
    private final Supplier<ProcessSpace> space;
    private final Supplier<Migration> migration;
    private final Draining draining;
    private final MigrateService migrate;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
        Thread.ofPlatform().daemon().name("balancer").factory());
    private final Map<String, Long> movedAt = new HashMap<>();
    private final Arrivals arrivals = new Arrivals();
    private int sustained;
    private long quietUntil;

    public Balancer(String self, Supervisor supervisor, Supplier<ProcessSpace> space, Supplier<Migration> migration,
                    Draining draining, MigrateService migrate) {
        this.self = self;
        this.supervisor = supervisor;
        this.space = space;
        this.migration = migration;
        this.draining = draining;
        this.migrate = migrate;
    }

    public void start() {
        timer.scheduleWithFixedDelay(this::roundQuietly, ROUND_MILLIS, ROUND_MILLIS, TimeUnit.MILLISECONDS);
    }

    private void roundQuietly() {
        try {
            round();
        } catch (RuntimeException e) {
            LOG.warning("balancing round failed: " + e);
        }
    }

    /** A node that could take a process: its busy jobs and CPUs. */
    record Node(String name, int busy, int cpus) {
        double perCpu() {
            return busy / (double) Math.max(1, cpus);
        }
    }

    private void round() {
        long now = System.currentTimeMillis();
        ProcessSpace s = space.get();
        if (s == null || draining.on() || !migration.get().available() || now < quietUntil) {
            sustained = 0;
            return;
        }
        LoadSample sample = supervisor.load();
        Node me = new Node(self, sample.busy(), Runtime.getRuntime().availableProcessors());
        Node least = null;
        for (Map.Entry<String, LoadEntry> e : s.membership().loadTable().entrySet()) {
            LoadReport r = e.getValue().report();
            if (e.getKey().equals(self) || !e.getValue().inView() || e.getValue().age().toMillis() > STALE_MILLIS) {
                continue;
            }
            // its report may not count yet what this node just sent it (under load it lags: CI
            // saw a fourth process sent to the node that already had two, the third node one)
            long received = now - e.getValue().age().toMillis(); // by this node's clock
            Node n = new Node(e.getKey(), r.busy() + arrivals.notSeenYet(e.getKey(), received, now), r.cpus());
            if (n.perCpu() > me.perCpu() || (n.perCpu() == me.perCpu() && n.name().compareTo(self) < 0)) {
                sustained = 0; // a more loaded node moves first: one mover at a time
                return;
            }
            if (!r.draining() && r.migration().available()
                    && (least == null || n.perCpu() < least.perCpu())) {
                least = n;
            }
        }
        if (least == null || !worthIt(me, least)) {
            sustained = 0;
            return;
        }
        if (++sustained < SUSTAINED_ROUNDS) {
            return;
        }
        sustained = 0;
        movedAt.values().removeIf(t -> now - t > RESIDENCY_MILLIS);
        Job j = candidate(sample, now);
        if (j == null) {
            return;
        }
        quietUntil = now + COOLDOWN_MILLIS;
        movedAt.put(j.gpid(), now);
        String why = String.format(Locale.ROOT, "balance: %s had %d busy jobs on %d CPUs, %s %d on %d",
            self, me.busy(), me.cpus(), least.name(), least.busy(), least.cpus());
        move(j, least.name(), why);
    }

    /** The processes this node moved lately, by the node they went to (see {@link #SEEN_AFTER_MILLIS}). */
    static final class Arrivals {
        private final Map<String, java.util.List<Long>> at = new java.util.concurrent.ConcurrentHashMap<>();

        /** A process this node moved runs on {@code node} since {@code when}. */
        void arrived(String node, long when) {
            var times = at.computeIfAbsent(node, n -> new java.util.ArrayList<>());
            synchronized (times) {
                times.add(when);
            }
        }

        /** How many of them a report of {@code node} received at {@code received} may not count yet. */
        int notSeenYet(String node, long received, long now) {
            var times = at.get(node);
            if (times == null) {
                return 0;
            }
            synchronized (times) {
                times.removeIf(t -> now - t > STALE_MILLIS + SEEN_AFTER_MILLIS);
                return (int) times.stream().filter(t -> received < t + SEEN_AFTER_MILLIS).count();
            }
        }
    }

    /** Moving one job from {@code from} to {@code to} leaves {@code from} no less loaded than {@code to}. */
    static boolean worthIt(Node from, Node to) {
        double after = (from.busy() - 1) / (double) Math.max(1, from.cpus());
        double there = (to.busy() + 1) / (double) Math.max(1, to.cpus());
        return after >= there - 1e-9;
    }

    /** The busiest job here that may move automatically and is old enough for its move to pay. */
    private Job candidate(LoadSample sample, long now) {
        Job best = null;
        double bestLoad = 0;
        for (Job j : supervisor.jobs()) {
            LaunchSpec spec = j.spec();
            double load = sample.jobLoads().getOrDefault(j.gpid(), 0.0);
            if (j.end().isDone() || spec.pinned() || !spec.migratable() || spec.tty() || load < LoadSample.BUSY
                    || movedAt.containsKey(j.gpid()) || load <= bestLoad) {
                continue;
            }
            ProcSnapshot st = j.stats();
            long age = st == null || st.startTime() == null ? 0 : now - st.startTime().toEpochMilli();
            double downtimeMillis = 300 + (st == null ? 0 : st.rssBytes()) / BYTES_PER_SECOND * 1000;
            if (age < MIN_AGE_MILLIS || downtimeMillis * 10 > age || !supervisor.moves().moveBlockers(j).isEmpty()) {
                continue;
            }
            best = j;
            bestLoad = load;
        }
        return best;
    }

    private void move(Job j, String target, String why) {
        LOG.info(why + ": moving " + j.gpid() + " to " + target);
        var req = MoveRequest.newBuilder().setGpid(j.gpid()).setTarget(target).setWhy(why)
            .setCaller(Caller.newBuilder().setUid(0).setGid(0).setUser("root")).build();
        migrate.move(req, new StreamObserver<>() {
            private boolean failed;

            @Override
            public void onNext(MoveProgress p) {
                if (!p.getError().isEmpty()) {
                    failed = true;
                    LOG.info("balance: " + j.gpid() + " not moved: " + p.getError() + " " + p.getBlockersList());
                }
            }

            @Override
            public void onError(Throwable t) {
                failed = true;
                LOG.info("balance: " + j.gpid() + " not moved: " + t.getMessage());
            }

            @Override
            public void onCompleted() {
                if (!failed) { // the move's own event says how it went
                    arrivals.arrived(target, System.currentTimeMillis());
                }
            }
        });
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}

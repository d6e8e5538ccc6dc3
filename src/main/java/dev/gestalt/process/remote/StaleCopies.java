package dev.gestalt.process.remote;

import dev.gestalt.process.EventLog;
import dev.gestalt.process.Gpid;
import dev.gestalt.process.ProcessSpace;
import dev.gestalt.process.supervisor.Job;
import dev.gestalt.process.supervisor.Supervisor;
import dev.gestalt.rpc.proto.ListRequest;
import dev.gestalt.rpc.proto.LocateRequest;
import dev.gestalt.rpc.proto.ProcInfo;
import dev.gestalt.rpc.proto.ProcsGrpc;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * Ends the copies of processes that run on elsewhere: a node that was frozen or cut off long
 * enough to leave the cluster may come back with a process that was restarted from its
 * checkpoint on another node meanwhile. Every {@value #ROUND_SECONDS} s each node asks the home
 * node of each of its processes where it placed it; where the home names another node, and that
 * node confirms the process runs there, the copy here is the stale one: killed (as a moved
 * process's frozen copy is, without an end: the other copy's end is the process's), its record
 * dropped, and its signals sent on. A home that does not answer, or names no node, or a node
 * that does not confirm, ends nothing.
 */
public final class StaleCopies implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(StaleCopies.class.getName());
    static final long ROUND_SECONDS = 10;

    private final String nodeName;
    private final Supervisor supervisor;
    private final Supplier<ProcessSpace> space;
    private final MigrateService migrate;
    private final EventLog events;
    private volatile Thread loop;

    public StaleCopies(String nodeName, Supervisor supervisor, Supplier<ProcessSpace> space, MigrateService migrate,
                       EventLog events) {
        this.nodeName = nodeName;
        this.supervisor = supervisor;
        this.space = space;
        this.migrate = migrate;
        this.events = events;
    }

    public void start() {
        loop = Thread.ofVirtual().name("stale-copies").start(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                try {
                    Thread.sleep(TimeUnit.SECONDS.toMillis(ROUND_SECONDS));
                    round();
                } catch (InterruptedException e) {
                    return;
                } catch (RuntimeException e) {
                    LOG.warning("stale copies: " + e);
                }
            }
        });
    }

    /** One look at every process running here. */
    void round() {
        ProcessSpace s = space.get();
        if (s == null) {
            return;
        }
        Map<String, List<Job>> byHome = new HashMap<>();
        for (Job j : supervisor.jobs()) {
            if (!j.end().isDone() && Gpid.looksLike(j.gpid())) {
                String home = s.nodeName(Gpid.parse(j.gpid()).home());
                if (home != null) {
                    byHome.computeIfAbsent(home, k -> new ArrayList<>()).add(j);
                }
            }
        }
        for (var e : byHome.entrySet()) {
            List<Job> jobs = e.getValue();
            List<String> placed;
            try {
                if (e.getKey().equals(nodeName)) {
                    placed = jobs.stream().map(j -> s.placements().node(Gpid.parse(j.gpid()).seq())).toList();
                } else {
                    placed = ProcsGrpc.newBlockingStub(s.channel(e.getKey())).withDeadlineAfter(5, TimeUnit.SECONDS)
                        .locate(LocateRequest.newBuilder().addAllGpids(jobs.stream().map(Job::gpid).toList()).build())
                        .getNodesList();
                }
            } catch (Exception ex) {
                continue; // its home does not answer: nothing is decided without it
            }
            for (int i = 0; i < jobs.size() && i < placed.size(); i++) {
                String there = placed.get(i);
                if (there != null && !there.isEmpty() && !there.equals(nodeName) && s.member(there) != null) {
                    endIfRunsOn(s, jobs.get(i), there);
                }
            }
        }
    }

    private void endIfRunsOn(ProcessSpace s, Job j, String there) {
        List<ProcInfo> procs;
        try {
            procs = ProcsGrpc.newBlockingStub(s.channel(there)).withDeadlineAfter(5, TimeUnit.SECONDS)
                .list(ListRequest.newBuilder().addGpids(j.gpid()).setRecordsOnly(true).build()).getProcsList();
        } catch (Exception ex) {
            return;
        }
        boolean runs = procs.stream().anyMatch(p -> p.getGpid().equals(j.gpid()) && !p.getState().equals("exited"));
        if (runs && supervisor.moves().superseded(j.gpid(), there, migrate.forwarder(j.gpid(), j.spec().uid(), there))) {
            LOG.warning(j.gpid() + " runs on " + there + " (its home node says so): the stale copy here was killed");
            events.record("stale", j.gpid(), j.gpid() + " runs on " + there + ": its stale copy on " + nodeName
                + " (back after it left the cluster) was ended");
        }
    }

    @Override
    public void close() {
        Thread t = loop;
        if (t != null) {
            t.interrupt();
        }
    }
}

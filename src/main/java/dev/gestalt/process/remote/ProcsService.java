package dev.gestalt.process.remote;

import com.google.protobuf.ByteString;
import dev.gestalt.os.Posix;
import dev.gestalt.process.EventLog;
import dev.gestalt.process.Gpid;
import dev.gestalt.process.Placements;
import dev.gestalt.process.supervisor.Job;
import dev.gestalt.process.supervisor.LogReader;
import dev.gestalt.process.supervisor.LogStream;
import dev.gestalt.process.supervisor.ProcSnapshot;
import dev.gestalt.process.supervisor.Supervisor;
import dev.gestalt.rpc.FlowSender;
import dev.gestalt.rpc.proto.Exit;
import dev.gestalt.rpc.proto.EventsReply;
import dev.gestalt.rpc.proto.EventsRequest;
import dev.gestalt.rpc.proto.ListReply;
import dev.gestalt.rpc.proto.ListRequest;
import dev.gestalt.rpc.proto.LocateReply;
import dev.gestalt.rpc.proto.LocateRequest;
import dev.gestalt.rpc.proto.LogChunk;
import dev.gestalt.rpc.proto.LogsRequest;
import dev.gestalt.rpc.proto.ProcInfo;
import dev.gestalt.rpc.proto.ProcsGrpc;
import dev.gestalt.rpc.proto.SignalJobsReply;
import dev.gestalt.rpc.proto.SignalJobsRequest;
import dev.gestalt.rpc.proto.SignalOutcome;
import dev.gestalt.rpc.proto.SignalReply;
import dev.gestalt.rpc.proto.SignalRequest;
import dev.gestalt.rpc.proto.WaitRequest;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;

/**
 * The execution node's answers about the processes it runs (list, signal, wait, logs), and
 * the home node's answer to where it placed a GPID (locate). Listings are fanned out to every
 * node by the asking node; each answers for its own processes only, so no node holds
 * cluster-wide state. A listing reads /proc once, whatever the number of jobs.
 */
public final class ProcsService extends ProcsGrpc.ProcsImplBase {

    private final String nodeName;
    private final int nodeId;
    private final Supervisor supervisor;
    private final Placements placements;
    private final EventLog events;

    public ProcsService(String nodeName, int nodeId, Supervisor supervisor, Placements placements, EventLog events) {
        this.nodeName = nodeName;
        this.nodeId = nodeId;
        this.supervisor = supervisor;
        this.placements = placements;
        this.events = events;
    }

    @Override
    public void events(EventsRequest req, StreamObserver<EventsReply> out) {
        out.onNext(EventsReply.newBuilder().addAllEvents(events.after(req.getAfterSeq())).setLastSeq(events.last()).build());
        out.onCompleted();
    }

    @Override
    public void list(ListRequest req, StreamObserver<ListReply> out) {
        var reply = ListReply.newBuilder();
        if (req.getAllOsProcesses()) {
            for (ProcSnapshot p : supervisor.allOsProcesses()) {
                reply.addProcs(info(p).setNode(nodeName));
            }
        } else {
            java.util.Set<String> listed = new java.util.HashSet<>();
            List<Job> jobs = selected(req);
            Map<String, ProcSnapshot> stats = req.getRecordsOnly() ? Map.of() : supervisor.snapshots(jobs);
            for (Job j : jobs) {
                listed.add(j.gpid());
                reply.addProcs(info(j, stats.get(j.gpid())));
            }
            if (req.getEnded()) {
                for (Job j : supervisor.history()) {
                    boolean wanted = (req.getGpidsCount() == 0 || req.getGpidsList().contains(j.gpid()))
                        && (!req.getByUid() || j.spec().uid() == req.getUid());
                    if (wanted && listed.add(j.gpid())) {
                        reply.addProcs(info(j, j.stats())); // the record's figures: no /proc read
                    }
                }
            }
        }
        out.onNext(reply.build());
        out.onCompleted();
    }

    private List<Job> selected(ListRequest req) {
        List<Job> out = new ArrayList<>();
        if (req.getGpidsCount() > 0) {
            for (String g : req.getGpidsList()) {
                supervisor.find(g).ifPresent(out::add);
            }
        } else {
            out.addAll(supervisor.jobs());
        }
        if (req.getByUid()) {
            out.removeIf(j -> j.spec().uid() != req.getUid());
        }
        return out;
    }

    /** {@code stats} null: the record alone, "running" or "exited". */
    private ProcInfo.Builder info(Job j, ProcSnapshot stats) {
        var b = stats != null ? info(stats) : ProcInfo.newBuilder().setPid(j.pidIfKnown()).setState("running");
        b.setGpid(j.gpid()).setNode(nodeName).setUid(j.spec().uid()).setUser(j.spec().user())
            .setHomeNode(homeOf(j)).setDetached(j.detached()).setMoves(j.moves())
            .setCommand(String.join(" ", j.spec().argv()));
        if (j.end().isDone()) {
            b.setState("exited").setExitCode(j.exit().join());
            if (j.endTime() != null) {
                b.setEndEpochMillis(j.endTime().toEpochMilli());
            }
        } else if (j.exit().isDone()) {
            b.setProgramEnded(true).setExitCode(j.exit().join()); // what it started runs on
        }
        return b;
    }

    private static String homeOf(Job j) {
        return homeOf(j.gpid());
    }

    /** The home node's id in a GPID (HOME-SEQ), as text. */
    static String homeOf(String gpid) {
        return gpid.substring(0, Math.max(0, gpid.indexOf('-')));
    }

    private static ProcInfo.Builder info(ProcSnapshot p) {
        return ProcInfo.newBuilder().setPid(p.pid()).setUser(p.user()).setState(state(p.state()))
            .setCpuPercent(p.cpuPercent()).setRssBytes(p.rssBytes()).setCpuMillis(p.cpuMillis())
            .setStartEpochMillis(p.startTime() == null ? 0 : p.startTime().toEpochMilli())
            .setCommand(p.command());
    }

    private static String state(char c) {
        return switch (c) {
            case 'R' -> "running";
            case 'S', 'I' -> "sleeping";
            case 'D' -> "disk";
            case 'T', 't' -> "stopped";
            case 'Z' -> "zombie";
            case 'X' -> "exited";
            default -> String.valueOf(c);
        };
    }

    @Override
    public void signal(SignalRequest req, StreamObserver<SignalReply> out) {
        if (!req.getGpid().isEmpty()) {
            Job j = supervisor.find(req.getGpid()).or(() -> supervisor.moves().movedAway(req.getGpid())).orElse(null);
            if (j == null) {
                out.onNext(SignalReply.newBuilder().setFound(false).build());
                out.onCompleted();
                return;
            }
            Permissions.check(req.getCaller(), j);
            boolean exited = j.end().isDone(); // a program that ended may have left processes: they get it
            if (req.hasResize()) {
                j.resize(req.getResize().getCols(), req.getResize().getRows());
            } else if (!exited) {
                j.signal(req.getSignal());
            }
            out.onNext(SignalReply.newBuilder().setFound(true).setExited(exited).build());
            out.onCompleted();
            return;
        }
        long pid = req.getPid();
        Job job = runningJobOf(pid);
        if (job != null) {
            // a job's program: signalled as the job, through its init, which cannot be recycled
            // while the job runs (a bare kill could reach a pid the kernel has handed out again)
            Permissions.check(req.getCaller(), job);
            job.signal(req.getSignal());
            out.onNext(SignalReply.newBuilder().setFound(true).build());
            out.onCompleted();
            return;
        }
        if (req.getCaller().getUid() != 0) {
            throw Permissions.denied(nodeName + ":" + pid);
        }
        boolean ok = Posix.kill(pid, req.getSignal()); // root names any process, as kill(1) does
        out.onNext(SignalReply.newBuilder().setFound(ok).setError(ok ? "" : "no such process").build());
        out.onCompleted();
    }

    @Override
    public void signalJobs(SignalJobsRequest req, StreamObserver<SignalJobsReply> out) {
        int caller = req.getCaller().getUid();
        var reply = SignalJobsReply.newBuilder();
        if (req.getByUid()) {
            if (caller != 0 && caller != req.getUid()) {
                throw Permissions.denied("the processes of uid " + req.getUid());
            }
            for (Job j : supervisor.jobs()) {
                if (j.spec().uid() == req.getUid() && !j.end().isDone()) {
                    j.signal(req.getSignal());
                    reply.addOutcomes(outcome(j.gpid(), SignalOutcome.Kind.SIGNALLED));
                }
            }
        } else {
            for (String g : req.getGpidsList()) {
                Job j = supervisor.find(g).or(() -> supervisor.moves().movedAway(g)).orElse(null); // it goes on from there
                SignalOutcome.Kind kind;
                if (j == null) {
                    kind = SignalOutcome.Kind.NOT_FOUND;
                } else if (caller != 0 && caller != j.spec().uid()) {
                    kind = SignalOutcome.Kind.DENIED;
                } else if (j.end().isDone()) {
                    kind = SignalOutcome.Kind.EXITED;
                } else {
                    j.signal(req.getSignal());
                    kind = SignalOutcome.Kind.SIGNALLED;
                }
                reply.addOutcomes(outcome(g, kind));
            }
        }
        out.onNext(reply.build());
        out.onCompleted();
    }

    private static SignalOutcome outcome(String gpid, SignalOutcome.Kind kind) {
        return SignalOutcome.newBuilder().setGpid(gpid).setKind(kind).build();
    }

    @Override
    public void locate(LocateRequest req, StreamObserver<LocateReply> out) {
        var reply = LocateReply.newBuilder();
        for (String g : req.getGpidsList()) {
            String node = null;
            if (Gpid.looksLike(g)) {
                Gpid id = Gpid.parse(g);
                node = id.home() == nodeId ? placements.node(id.seq()) : null;
            }
            reply.addNodes(node == null ? "" : node);
        }
        out.onNext(reply.build());
        out.onCompleted();
    }

    /** The running job whose program has this pid, if any (an ended job's pid is no longer its own). */
    private Job runningJobOf(long pid) {
        for (Job j : supervisor.jobs()) {
            if (j.pid() == pid && !j.exit().isDone()) {
                return j;
            }
        }
        return null;
    }

    @Override
    public void waitFor(WaitRequest req, StreamObserver<Exit> out) {
        Job j = supervisor.find(req.getGpid()).orElseThrow(() -> Permissions.notFound(req.getGpid()));
        Permissions.check(req.getCaller(), j);
        try {
            java.util.concurrent.CompletableFuture.anyOf(j.exit(), j.movedTo()).get();
            // moved: the caller asks the node it runs on now
            out.onNext(j.exit().isDone() ? Exit.newBuilder().setCode(j.exit().join()).build()
                : Exit.newBuilder().setMovedTo(j.movedTo().join()).build());
            out.onCompleted();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            out.onError(Status.CANCELLED.asRuntimeException());
        } catch (ExecutionException e) {
            out.onError(Status.INTERNAL.withDescription(String.valueOf(e.getCause())).asRuntimeException());
        }
    }

    @Override
    public void logs(LogsRequest req, StreamObserver<LogChunk> responses) {
        Job j = supervisor.find(req.getGpid()).orElseThrow(() -> Permissions.notFound(req.getGpid()));
        Permissions.check(req.getCaller(), j);
        if (!j.detached()) {
            throw Status.FAILED_PRECONDITION.withDescription(j.gpid()
                + " is not detached: its output goes to the terminal that started it").asRuntimeException();
        }
        var call = (ServerCallStreamObserver<LogChunk>) responses;
        var sender = new FlowSender<>(call);
        call.setOnReadyHandler(sender::onReady);
        call.setOnCancelHandler(() -> sender.fail("cancelled"));
        LogReader logs = j.logs();
        Thread out = Thread.ofVirtual().start(() -> send(sender, logs, LogStream.STDOUT, req.getFollow(), req.getSkipStdout()));
        Thread err = Thread.ofVirtual().start(() -> send(sender, logs, LogStream.STDERR, req.getFollow(), req.getSkipStderr()));
        try {
            out.join();
            err.join();
            var last = LogChunk.newBuilder();
            if (j.exit().isDone()) {
                last.setExit(Exit.newBuilder().setCode(j.exit().join()));
            } else if (j.movedTo().isDone()) {
                last.setExit(Exit.newBuilder().setMovedTo(j.movedTo().join())); // followed on there
            }
            sender.sendLast(last.build());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A log to the stream: what it holds now, or followed from {@code skip} until the job ends (or moves). */
    private static void send(FlowSender<LogChunk> sender, LogReader logs, LogStream stream, boolean follow, long skip) {
        try {
            OutputPump.run(follow ? logs.follow(stream, skip) : logs.upToNow(stream), 32 * 1024,
                b -> sender.send(chunk(stream, b)), null);
        } catch (java.io.IOException e) {
            // the log cannot be read: nothing to send
        }
    }

    static LogChunk chunk(LogStream stream, ByteString b) {
        return stream == LogStream.STDOUT ? LogChunk.newBuilder().setStdout(b).build()
            : LogChunk.newBuilder().setStderr(b).build();
    }
}

package dev.gestalt.process.remote;

import com.google.protobuf.ByteString;
import dev.gestalt.os.Posix;
import dev.gestalt.process.supervisor.Job;
import dev.gestalt.process.supervisor.LogReader;
import dev.gestalt.process.supervisor.LogStream;
import dev.gestalt.process.supervisor.ProcSnapshot;
import dev.gestalt.process.supervisor.Supervisor;
import dev.gestalt.rpc.FlowSender;
import dev.gestalt.rpc.proto.Exit;
import dev.gestalt.rpc.proto.ListReply;
import dev.gestalt.rpc.proto.ListRequest;
import dev.gestalt.rpc.proto.LogChunk;
import dev.gestalt.rpc.proto.LogsRequest;
import dev.gestalt.rpc.proto.ProcInfo;
import dev.gestalt.rpc.proto.ProcsGrpc;
import dev.gestalt.rpc.proto.SignalReply;
import dev.gestalt.rpc.proto.SignalRequest;
import dev.gestalt.rpc.proto.WaitRequest;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.ExecutionException;

/**
 * The execution node's answers about the processes it runs: list, signal,
 * wait, logs. Queries are fanned out to every node by the asking node; each
 * answers for its own processes only, so no node holds cluster-wide state.
 */
public final class ProcsService extends ProcsGrpc.ProcsImplBase {

    private final String nodeName;
    private final Supervisor supervisor;

    public ProcsService(String nodeName, Supervisor supervisor) {
        this.nodeName = nodeName;
        this.supervisor = supervisor;
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
            for (Job j : supervisor.jobs()) {
                listed.add(j.gpid());
                reply.addProcs(info(j));
            }
            if (req.getEnded()) {
                for (Job j : supervisor.history()) {
                    if (listed.add(j.gpid())) {
                        reply.addProcs(info(j));
                    }
                }
            }
        }
        out.onNext(reply.build());
        out.onCompleted();
    }

    private ProcInfo.Builder info(Job j) {
        ProcSnapshot p = j.stats();
        var b = info(p).setGpid(j.gpid()).setNode(nodeName).setUid(j.spec().uid()).setUser(j.spec().user())
            .setHomeNode(homeOf(j)).setDetached(j.detached())
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
        String g = j.gpid();
        return g.substring(0, Math.max(0, g.indexOf('-')));
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
            Job j = supervisor.find(req.getGpid()).orElse(null);
            if (j == null) {
                out.onNext(SignalReply.newBuilder().setFound(false).build());
                out.onCompleted();
                return;
            }
            Permissions.check(req.getCaller(), j);
            if (req.hasResize()) {
                j.resize(req.getResize().getCols(), req.getResize().getRows());
            } else if (!j.end().isDone()) {
                j.signal(req.getSignal());
            }
            out.onNext(SignalReply.newBuilder().setFound(true).build());
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
            int code = j.exit().get();
            out.onNext(Exit.newBuilder().setCode(code).build());
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
        Thread out = Thread.ofVirtual().start(() -> send(sender, logs, LogStream.STDOUT, req.getFollow()));
        Thread err = Thread.ofVirtual().start(() -> send(sender, logs, LogStream.STDERR, req.getFollow()));
        try {
            out.join();
            err.join();
            var last = LogChunk.newBuilder();
            if (j.exit().isDone()) {
                last.setExit(Exit.newBuilder().setCode(j.exit().join()));
            }
            sender.sendLast(last.build());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A log to the stream: what it holds now, or followed until the job ends. */
    private static void send(FlowSender<LogChunk> sender, LogReader logs, LogStream stream, boolean follow) {
        try {
            OutputPump.run(follow ? logs.follow(stream, 0) : logs.upToNow(stream), 32 * 1024,
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

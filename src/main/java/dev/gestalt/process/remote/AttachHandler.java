package dev.gestalt.process.remote;

import dev.gestalt.process.supervisor.Job;
import dev.gestalt.process.supervisor.LogReader;
import dev.gestalt.process.supervisor.LogStream;
import dev.gestalt.process.supervisor.Supervisor;
import dev.gestalt.rpc.FlowSender;
import dev.gestalt.rpc.proto.AttachSpec;
import dev.gestalt.rpc.proto.ExecIn;
import dev.gestalt.rpc.proto.ExecOut;
import dev.gestalt.rpc.proto.Exit;
import dev.gestalt.rpc.proto.LogOffsets;
import dev.gestalt.rpc.proto.Moved;
import dev.gestalt.rpc.proto.Started;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Attaches a client to a detached process on this node: its output from now
 * on (followed from the log, so any number of clients can attach and the log
 * stays complete), the client's input into its terminal, and a redraw of a
 * full-screen program by jiggling the window size. The process outlives the
 * attachment.
 */
final class AttachHandler {

    private final Supervisor supervisor;

    AttachHandler(Supervisor supervisor) {
        this.supervisor = supervisor;
    }

    StreamObserver<ExecIn> open(ServerCallStreamObserver<ExecOut> call) {
        var sender = new FlowSender<>(call);
        List<Thread> followers = new CopyOnWriteArrayList<>();
        call.setOnReadyHandler(sender::onReady);
        call.setOnCancelHandler(() -> {
            sender.fail("detached");
            followers.forEach(Thread::interrupt);
        });
        return new StreamObserver<>() {
            private volatile Job job;

            @Override
            public void onNext(ExecIn in) {
                switch (in.getKindCase()) {
                    case ATTACH -> job = attach(in.getAttach(), sender, followers);
                    case STDIN -> {
                        Job j = job;
                        if (j != null && j.spec().tty()) {
                            try {
                                in.getStdin().writeTo(j.stdin());
                                j.stdin().flush();
                            } catch (IOException e) {
                                // the program closed its terminal
                            }
                        }
                    }
                    default -> { }
                }
            }

            @Override
            public void onError(Throwable t) {
                sender.fail("detached");
                followers.forEach(Thread::interrupt);
            }

            @Override
            public void onCompleted() {
                // the client sent its last input; output still flows until it detaches
            }
        };
    }

    private Job attach(AttachSpec spec, FlowSender<ExecOut> sender, List<Thread> followers) {
        Job j = supervisor.find(spec.getGpid()).orElseThrow(() -> Permissions.notFound(spec.getGpid()));
        Permissions.check(spec.getCaller(), j);
        if (!j.detached()) {
            throw Status.FAILED_PRECONDITION.withDescription(j.gpid()
                + " is not detached: it is attached to the terminal that started it").asRuntimeException();
        }
        LogReader logs = j.logs();
        try {
            boolean following = spec.hasFollowFrom(); // it moved here under this client: no second start
            if (!following) {
                sender.send(ExecOut.newBuilder().setStarted(Started.newBuilder().setGpid(j.gpid()).setPid(j.pid())
                    .setTty(j.spec().tty())).build());
            }
            long outFrom = following ? spec.getFollowFrom().getStdout() : logs.size(LogStream.STDOUT);
            long errFrom = following ? spec.getFollowFrom().getStderr() : logs.size(LogStream.STDERR);
            long[] at = {outFrom, errFrom}; // how far each was followed
            Thread out = Thread.ofVirtual().start(() -> at[0] += follow(logs, LogStream.STDOUT, outFrom, sender));
            Thread err = Thread.ofVirtual().start(() -> at[1] += follow(logs, LogStream.STDERR, errFrom, sender));
            followers.add(out);
            followers.add(err);
            if (j.spec().tty() && spec.hasSize() && spec.getSize().getCols() > 0) {
                int cols = spec.getSize().getCols();
                int rows = spec.getSize().getRows();
                j.resize(cols, Math.max(1, rows - 1)); // a size change makes full-screen programs redraw
                j.resize(cols, rows);
            }
            Thread.ofVirtual().start(() -> {
                try {
                    out.join();
                    err.join();
                    if (j.exit().isDone()) {
                        sender.sendLast(ExecOut.newBuilder().setExit(Exit.newBuilder().setCode(j.exit().join())).build());
                    } else if (j.movedTo().isDone()) { // its whole log went with it: the client follows it there
                        sender.sendLast(ExecOut.newBuilder().setMoved(Moved.newBuilder().setNode(j.movedTo().join())
                            .setLog(LogOffsets.newBuilder().setStdout(at[0]).setStderr(at[1]))).build());
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
        } catch (IOException e) {
            // the client went away
        }
        return j;
    }

    /** Sends the log from {@code from} while the job runs here; returns how many bytes were sent. */
    private static long follow(LogReader logs, LogStream stream, long from, FlowSender<ExecOut> sender) {
        long[] sent = {0};
        OutputPump.run(logs.follow(stream, from), 32 * 1024, b -> {
            sender.send(stream == LogStream.STDOUT ? ExecOut.newBuilder().setStdout(b).build()
                : ExecOut.newBuilder().setStderr(b).build());
            sent[0] += b.size();
        }, null);
        return sent[0];
    }
}

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
 * attachment. Before the process moves, each client stops sending input ({@link #pauseInput}):
 * what it types meanwhile goes to where the process runs next, or here again if it stays.
 */
final class AttachHandler {
    private static final java.util.logging.Logger LOG = java.util.logging.Logger.getLogger(AttachHandler.class.getName());

    private final Supervisor supervisor;
    /** The attachments open now, by GPID. */
    private final java.util.Map<String, List<Attachment>> open = new java.util.concurrent.ConcurrentHashMap<>();

    AttachHandler(Supervisor supervisor) {
        this.supervisor = supervisor;
    }

    /** One client attached to one process: its stream, and its answer to a pause. */
    static final class Attachment {
        private final FlowSender<ExecOut> sender;
        private volatile java.util.concurrent.CompletableFuture<Void> paused;

        Attachment(FlowSender<ExecOut> sender) {
            this.sender = sender;
        }

        /**
         * Asks the client to stop sending input; its answer completes the future (every key it
         * sent is in the terminal by then). Sent aside: a client that reads nothing (a CLI
         * stopped with Ctrl-Z) holds up its own send, not the move.
         */
        java.util.concurrent.CompletableFuture<Void> pauseInput() {
            var ack = new java.util.concurrent.CompletableFuture<Void>();
            paused = ack;
            send(ExecOut.newBuilder().setPauseInput(true).build(), ack);
            return ack;
        }

        /** The process did not move: the client sends its input here again. */
        void resumeInput() {
            send(ExecOut.newBuilder().setResumeInput(true).build(), new java.util.concurrent.CompletableFuture<>());
        }

        private void send(ExecOut out, java.util.concurrent.CompletableFuture<Void> failed) {
            ASIDE.execute(() -> {
                try {
                    sender.send(out);
                } catch (IOException e) {
                    failed.completeExceptionally(e); // the client is gone
                }
            });
        }

        private void pausedNow() {
            var ack = paused;
            if (ack != null) {
                ack.complete(null);
            }
        }
    }

    /**
     * Before {@code gpid} freezes for a move: each client attached to it stops sending input, so
     * that no key it types goes into the terminal of the copy that is left behind (a client that
     * does not answer within {@code millis} is not waited for). Returns those that paused, for
     * {@link Attachment#resumeInput} if the move fails; if it moves, each follows it there and
     * sends its input there.
     */
    List<Attachment> pauseInput(String gpid, long millis) {
        List<Attachment> all = List.copyOf(open.getOrDefault(gpid, List.of()));
        var answers = all.stream().map(Attachment::pauseInput).toList(); // all at once
        long until = System.nanoTime() + java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(millis);
        List<Attachment> paused = new java.util.ArrayList<>();
        for (int i = 0; i < all.size(); i++) {
            boolean ok = false;
            try {
                answers.get(i).get(Math.max(0, until - System.nanoTime()), java.util.concurrent.TimeUnit.NANOSECONDS);
                ok = true;
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                // gone, or no answer in time
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (ok) {
                paused.add(all.get(i));
            } else {
                LOG.warning("a client attached to " + gpid + " did not pause its input within " + millis
                    + " ms: what it types during the move may be lost");
            }
        }
        return paused;
    }

    /** Threads for what may wait on a client (see {@link #pauseInput(String, long)}). */
    private static final java.util.concurrent.Executor ASIDE = java.util.concurrent.Executors.newThreadPerTaskExecutor(
        Thread.ofVirtual().name("attach-pause").factory());

    private void opened(String gpid, Attachment a) {
        open.computeIfAbsent(gpid, g -> new CopyOnWriteArrayList<>()).add(a);
    }

    private void closed(String gpid, Attachment a) {
        open.computeIfPresent(gpid, (g, l) -> {
            l.remove(a);
            return l.isEmpty() ? null : l;
        });
    }

    StreamObserver<ExecIn> open(ServerCallStreamObserver<ExecOut> call) {
        var sender = new FlowSender<>(call);
        var attachment = new Attachment(sender);
        List<Thread> followers = new CopyOnWriteArrayList<>();
        Job[] attachedTo = new Job[1];
        Runnable gone = () -> {
            Job j = attachedTo[0];
            if (j != null) {
                closed(j.gpid(), attachment);
            }
        };
        call.setOnReadyHandler(sender::onReady);
        call.setOnCancelHandler(() -> {
            sender.fail("detached");
            followers.forEach(Thread::interrupt);
            gone.run();
        });
        return new StreamObserver<>() {
            private volatile Job job;

            @Override
            public void onNext(ExecIn in) {
                switch (in.getKindCase()) {
                    case ATTACH -> {
                        job = attach(in.getAttach(), sender, followers, gone);
                        attachedTo[0] = job;
                        opened(job.gpid(), attachment);
                    }
                    case INPUT_PAUSED -> attachment.pausedNow();
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
                gone.run();
            }

            @Override
            public void onCompleted() {
                // the client sent its last input; output still flows until it detaches
            }
        };
    }

    private Job attach(AttachSpec spec, FlowSender<ExecOut> sender, List<Thread> followers, Runnable gone) {
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
                    gone.run(); // nothing more to pause here
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

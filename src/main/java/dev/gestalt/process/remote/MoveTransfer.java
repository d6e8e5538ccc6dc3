package dev.gestalt.process.remote;

import dev.gestalt.process.supervisor.Job;
import dev.gestalt.process.supervisor.LogStream;
import dev.gestalt.process.supervisor.Moves;
import dev.gestalt.rpc.FlowSender;
import dev.gestalt.rpc.GestaltException;
import dev.gestalt.rpc.proto.ImageChunk;
import dev.gestalt.rpc.proto.LazyPages;
import dev.gestalt.rpc.proto.MigrateGrpc;
import dev.gestalt.rpc.proto.MovingJob;
import dev.gestalt.rpc.proto.Restored;
import dev.gestalt.security.MoveKeys;
import io.grpc.Channel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One checkpoint on its way from the source to a target (MigrateService): the stream, with flow
 * control, and the target's answers in order (it takes the process; the restore; the commit;
 * post-copy: all its memory came).
 */
final class MoveTransfer {
    private static final int CHUNK = 2 << 20;
    private static final Object END = new Object();

    private final LinkedBlockingQueue<Object> answers = new LinkedBlockingQueue<>();
    private volatile FlowSender<ImageChunk> sender;
    private volatile ClientCallStreamObserver<ImageChunk> call;
    /** Stop-and-copy: the target's page server, and the keys of the move for it (null: none). */
    MoveKeys pageKeys;
    String pageAddress;
    int pagePort;

    private MoveTransfer() {}

    /** Opens the stream on {@code channel} (a target's) with the process's identity, {@code job}. */
    static MoveTransfer open(Channel channel, long deadlineSeconds, MovingJob job) throws IOException {
        var t = new MoveTransfer();
        var ready = new CompletableFuture<Void>();
        ClientResponseObserver<ImageChunk, Restored> observer = new ClientResponseObserver<>() {
            @Override
            public void beforeStart(ClientCallStreamObserver<ImageChunk> c) {
                t.call = c;
                t.sender = new FlowSender<>(c);
                c.setOnReadyHandler(t.sender::onReady);
                ready.complete(null);
            }

            @Override
            public void onNext(Restored r) {
                t.answers.add(r);
            }

            @Override
            public void onError(Throwable e) {
                t.sender.fail(String.valueOf(e.getMessage()));
                t.answers.add(e);
            }

            @Override
            public void onCompleted() {
                t.answers.add(END);
            }
        };
        MigrateGrpc.newStub(channel).withDeadlineAfter(deadlineSeconds, TimeUnit.SECONDS).receive(observer);
        ready.join();
        t.sender.sendFirst(ImageChunk.newBuilder().setJob(job).build());
        return t;
    }

    /** The next answer, or an exception for a stream that failed or ended. */
    Restored next(String target, long seconds) throws IOException, GestaltException {
        Object o;
        try {
            o = answers.poll(seconds, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
        if (o == null) {
            throw new IOException(target + " did not answer within " + seconds + " s");
        }
        if (o instanceof Throwable t) {
            throw GestaltException.fromStatus(t, target);
        }
        if (o == END) {
            throw new IOException(target + " ended the transfer without an answer");
        }
        return (Restored) o;
    }

    void cancel(String why) {
        var c = call;
        if (c != null) {
            c.cancel(why, null);
        }
    }

    /**
     * The checkpoint in {@code images} and the output of before the move, then the end (with the
     * names CRIU knows its descriptors by); adds the bytes sent to {@code sent[0]}.
     */
    void send(Moves.Checkpoint c, Job j, Path images, long[] sent, LazyPages lazy) throws IOException {
        try (var files = Files.list(images)) {
            for (Path f : files.sorted().toList()) {
                String name = f.getFileName().toString();
                if (Files.isRegularFile(f) && !name.endsWith(".log") && !name.endsWith(".out")) {
                    sent[0] += sendFile(name, f);
                }
            }
        }
        if (j.spec().detached()) { // its log goes with it (an attached one's output went to its client)
            var logs = j.logs();
            sent[0] += sendFile("stdout", logs.path(LogStream.STDOUT));
            sent[0] += sendFile("stderr", logs.path(LogStream.STDERR));
        }
        sender.send(ImageChunk.newBuilder().setEnd(true).setJob(MovingJobs.descriptors(c)
            .setLazy(lazy == null ? LazyPages.getDefaultInstance() : lazy)).build());
    }

    /** Tells the target it may let the restored process run; whether it says it does. */
    boolean commit(String target) throws IOException, GestaltException {
        sender.send(ImageChunk.newBuilder().setCommit(true).build());
        Restored r = next(target, 60);
        sender.complete();
        return r.getCommitted();
    }

    private long sendFile(String name, Path file) throws IOException {
        long n = 0;
        try (InputStream in = Files.newInputStream(file, java.nio.file.LinkOption.NOFOLLOW_LINKS)) { // a log its user replaced by a link: refused
            boolean first = true;
            while (true) {
                byte[] buf = new byte[CHUNK]; // handed to gRPC without a copy: a new one each time
                int r = in.readNBytes(buf, 0, buf.length);
                if (r > 0 || first) {
                    sender.send(ImageChunk.newBuilder().setFile(name)
                        .setData(com.google.protobuf.UnsafeByteOperations.unsafeWrap(buf, 0, r)).build());
                }
                n += r;
                first = false;
                if (r < buf.length) {
                    return n;
                }
            }
        } catch (java.nio.file.NoSuchFileException e) {
            return n; // no output of that stream
        }
    }
}

package dev.gestalt.process.supervisor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.logging.Logger;

/**
 * The daemon's connection to the node's keeper ({@code gestalt-exec --keeper}, see
 * src/main/c/keeper.c for what it is and its protocol): the process that starts, holds and
 * reaps every job of the node, and outlives the daemon. {@link #open} connects to the keeper
 * of a state folder, starting one when none runs.
 *
 * <p>One thread writes requests and another reads replies, and neither waits for the other
 * (the keeper's replies are read while requests queue). A job's descriptors are the keeper's:
 * the daemon opens them as {@code /proc/KEEPER/fd/N} ({@link #fd}), the same pipe, so the keeper
 * keeps a copy of each while the daemon comes and goes.
 */
final class Keeper implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Keeper.class.getName());
    /** The protocol's version: keep in step with KEEPER_VERSION in src/main/c/keeper.h. */
    static final String VERSION = "2";
    private static final long ANSWER_SECONDS = 10;
    private static final byte[] END = new byte[0];

    /** A job as the keeper started it: its init's and program's pids, the keeper's descriptors (-1: none). */
    record Started(long root, long program, int stdin, int stdout, int stderr) {}

    /** A job the keeper holds, as it lists them to a daemon that connects. */
    record Held(String gpid, long root, long program, boolean tty, boolean detached, int stdin,
                boolean running, int code, int uid, int gid, int programCode) {}

    /** What the keeper says on its own. Called from the reader thread, one call at a time. */
    interface Listener {
        /** A job's program ended (other processes of the job may live on): its shell status. */
        void programEnded(String gpid, int code);

        /** A job ended, its last process (its output is in its log files by now): its shell status. */
        void ended(String gpid, int code);

        /** A job that was restored on another node ({@link #moved}) is gone from this one. */
        void moved(String gpid);

        /** The connection ended without a stop: the keeper died, or dropped this daemon. */
        void lost();
    }

    private final SocketChannel channel;
    private final long pid;
    private final Listener listener;
    private final LinkedBlockingQueue<byte[]> outbox = new LinkedBlockingQueue<>();
    private final Map<String, CompletableFuture<Started>> starting = new ConcurrentHashMap<>();
    /** Restores given up on (no answer in time): if one still succeeds, that copy is killed. */
    private final java.util.Set<String> lateRestores = ConcurrentHashMap.newKeySet();
    private final Object listLock = new Object();
    private volatile CompletableFuture<List<Held>> listing;
    private final List<Held> held = new ArrayList<>();
    private final CompletableFuture<Void> closed = new CompletableFuture<>();
    private volatile boolean stopping;

    private Keeper(SocketChannel channel, long pid, Listener listener) {
        this.channel = channel;
        this.pid = pid;
        this.listener = listener;
    }

    /**
     * Connects to the keeper of {@code stateDir}, starting one with {@code helper} when none
     * listens (see {@link KeeperStart}).
     */
    static Keeper open(Path helper, Path stateDir, Listener listener) throws IOException {
        KeeperStart.Connected c = KeeperStart.connect(helper, stateDir, VERSION, ANSWER_SECONDS);
        Keeper k = new Keeper(c.channel(), c.pid(), listener);
        Thread.ofPlatform().daemon().name("keeper-requests").start(k::writeRequests);
        Thread.ofPlatform().daemon().name("keeper-replies").start(k::readReplies);
        return k;
    }

    /** The keeper's pid. */
    long pid() {
        return pid;
    }

    /** One of the keeper's descriptors, to be opened by the daemon (the same pipe, not a copy). */
    Path fd(int n) {
        return Path.of("/proc", Long.toString(pid), "fd", Integer.toString(n));
    }

    /**
     * Starts a job: {@code args} are gestalt-exec's options, {@code --} and the command; {@code env}
     * the program's whole environment.
     *
     * @throws LaunchException with bash's status and message when the program cannot be started
     *                         (working directory, command), 255 when the keeper cannot start it
     */
    Started start(String gpid, List<String> args, Map<String, String> env) throws LaunchException {
        List<String> f = new ArrayList<>(args.size() + env.size() + 4);
        f.add("S");
        f.add(gpid);
        f.add(Integer.toString(args.size()));
        f.addAll(args);
        f.add(Integer.toString(env.size()));
        for (var e : env.entrySet()) {
            f.add(e.getKey() + "=" + e.getValue());
        }
        return request(gpid, f, ANSWER_SECONDS);
    }

    /**
     * Restores a job checkpointed on another node: the keeper creates its stdio (the log files,
     * owned by {@code uid:gid} and first filled with {@code images/stdout} and {@code images/stderr},
     * for a detached job) and a status pipe, and runs {@code restorer} (CRIU's restore, which finds
     * them as fds 3 to 6: see src/main/c/keeper.c) as its own child.
     *
     * @throws LaunchException 255 with the reason when the restore failed
     */
    Started restore(String gpid, boolean detached, boolean tty, int uid, int gid, Path images, List<String> restorer,
                    long timeoutSeconds) throws LaunchException {
        List<String> f = new ArrayList<>(restorer.size() + 7);
        f.addAll(List.of("R", gpid, (detached ? "d" : "") + (tty ? "t" : ""), Integer.toString(uid), Integer.toString(gid),
            images.toAbsolutePath().toString(), Integer.toString(restorer.size())));
        f.addAll(restorer);
        try {
            return request(gpid, f, timeoutSeconds);
        } catch (LaunchException e) {
            if (e.getMessage().startsWith("the keeper did not answer")) {
                lateRestores.add(gpid);
            }
            throw e;
        }
    }

    /** The job runs on another node now: the keeper kills it here and says G, not X. */
    void moved(String gpid) {
        sendQuietly("M", gpid);
    }

    /** A start or a restore: the keeper answers S, or F with bash's status and message. */
    private Started request(String gpid, List<String> fields, long timeoutSeconds) throws LaunchException {
        byte[] request;
        try {
            request = KeeperWire.frame(fields);
        } catch (IllegalArgumentException e) {
            throw new LaunchException(255, e.getMessage());
        }
        var answer = new CompletableFuture<Started>();
        if (starting.putIfAbsent(gpid, answer) != null) {
            throw new LaunchException(255, "gpid " + gpid + " is being started");
        }
        try {
            send(request);
            return answer.get(timeoutSeconds, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof LaunchException l) {
                throw l;
            }
            throw new LaunchException(255, e.getCause().getMessage(), e.getCause());
        } catch (IOException e) {
            throw new LaunchException(255, "the node's keeper is gone", e);
        } catch (TimeoutException e) {
            throw new LaunchException(255, "the keeper did not answer within " + timeoutSeconds + " s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LaunchException(255, "interrupted");
        } finally {
            starting.remove(gpid);
        }
    }

    void signal(String gpid, int sig) {
        sendQuietly("K", gpid, Integer.toString(sig));
    }

    void resize(String gpid, int rows, int cols) {
        sendQuietly("W", gpid, Integer.toString(rows), Integer.toString(cols));
    }

    /** The daemon closed its end of the job's stdin: the keeper closes its copy, and the job reads EOF. */
    void endInput(String gpid) {
        sendQuietly("E", gpid);
    }

    /**
     * A restored job runs here from now on: until this, the keeper kills it (stopped, as CRIU left
     * it) if this daemon goes, since its source then resumes its own copy.
     */
    void commit(String gpid) {
        sendQuietly("C", gpid);
    }

    /** The job's client is gone: SIGHUP, and its further output to its log files. */
    void hangUp(String gpid) {
        sendQuietly("D", gpid);
    }

    /** Detached without a hang-up (see LocalJob#letGo). */
    void detach(String gpid) {
        sendQuietly("D", gpid, "q");
    }

    /** The end of the job is recorded: the keeper may forget it. */
    void forget(String gpid) {
        sendQuietly("F", gpid);
    }

    /** Every job the keeper holds, running or ended and not yet forgotten. */
    List<Held> list() throws IOException {
        CompletableFuture<List<Held>> answer;
        synchronized (listLock) {
            answer = new CompletableFuture<>();
            listing = answer;
            send(KeeperWire.frame(List.of("L")));
        }
        try {
            return answer.get(ANSWER_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            throw new IOException("the keeper did not list its jobs: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
    }

    /**
     * Stops the keeper and every job: SIGTERM, SIGKILL two seconds later; returns once it has
     * exited (or after {@code millis}).
     */
    void stop(long millis) {
        stopping = true;
        sendQuietly("Q");
        try {
            closed.get(millis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            LOG.warning("the keeper (pid " + pid + ") did not stop within " + millis + " ms");
        }
        close();
    }

    /** Closes the connection and leaves the keeper and its jobs running, as a daemon that dies would. */
    @Override
    public void close() {
        stopping = true;
        outbox.add(END);
        try {
            channel.close();
        } catch (IOException e) {
            // closing anyway
        }
    }

    boolean isOpen() {
        return !closed.isDone();
    }

    private void sendQuietly(String... fields) {
        try {
            send(KeeperWire.frame(List.of(fields)));
        } catch (IOException | IllegalArgumentException e) {
            LOG.fine("request " + fields[0] + " not sent: " + e.getMessage());
        }
    }

    private void send(byte[] request) throws IOException {
        if (closed.isDone()) {
            throw new IOException("the keeper is gone");
        }
        outbox.add(request);
    }

    private void writeRequests() {
        try {
            while (true) {
                byte[] b = outbox.take();
                if (b == END) {
                    return;
                }
                ByteBuffer buf = ByteBuffer.wrap(b);
                while (buf.hasRemaining()) {
                    channel.write(buf);
                }
            }
        } catch (IOException | InterruptedException e) {
            // the keeper is gone: the reader sees the end and says so
        }
    }

    private void readReplies() {
        try {
            List<String> f;
            while ((f = KeeperWire.read(channel)) != null) {
                try {
                    handle(f);
                } catch (RuntimeException e) {
                    LOG.warning("keeper: cannot handle " + f + ": " + e);
                }
            }
        } catch (IOException e) {
            // ended
        } finally {
            closed.complete(null);
            var failure = new LaunchException(255, "the node's keeper is gone");
            starting.values().forEach(s -> s.completeExceptionally(failure));
            var l = listing;
            if (l != null) {
                l.completeExceptionally(new IOException("the keeper is gone"));
            }
            if (!stopping) {
                listener.lost();
            }
        }
    }

    private void handle(List<String> f) {
        switch (f.getFirst()) {
            case "S" -> {
                var s = starting.get(f.get(1));
                if (s != null) {
                    s.complete(new Started(Long.parseLong(f.get(2)), Long.parseLong(f.get(3)),
                        Integer.parseInt(f.get(4)), Integer.parseInt(f.get(5)), Integer.parseInt(f.get(6))));
                } else if (lateRestores.remove(f.get(1))) {
                    moved(f.get(1)); // a restore given up on: its source resumed it, so this copy goes
                } else {
                    hangUp(f.get(1)); // nobody waits for it any more (the start timed out): it goes on detached
                }
            }
            case "F" -> {
                var s = starting.get(f.get(1));
                if (s != null) {
                    s.completeExceptionally(new LaunchException(Integer.parseInt(f.get(2)), f.get(3)));
                }
            }
            case "P" -> listener.programEnded(f.get(1), Integer.parseInt(f.get(2)));
            case "X" -> listener.ended(f.get(1), Integer.parseInt(f.get(2)));
            case "G" -> listener.moved(f.get(1));
            case "J" -> held.add(new Held(f.get(1), Long.parseLong(f.get(2)), Long.parseLong(f.get(3)),
                f.get(4).contains("t"), f.get(4).contains("d"), Integer.parseInt(f.get(5)), f.get(6).equals("R"),
                Integer.parseInt(f.get(7)), Integer.parseInt(f.get(8)), Integer.parseInt(f.get(9)),
                f.size() > 10 ? Integer.parseInt(f.get(10)) : -1)); // a keeper from before P: no program code
            case "L" -> {
                var l = listing;
                if (l != null) {
                    l.complete(List.copyOf(held));
                }
                held.clear();
            }
            case "Q" -> { } // stopping: the connection ends next
            default -> LOG.warning("the keeper said " + f);
        }
    }
}

package dev.gestalt.process.supervisor;

import dev.gestalt.os.Posix;
import dev.gestalt.os.Signals;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Logger;

/**
 * Starts jobs without a terminal through one resident {@code gestalt-exec --server} (see its
 * source for the protocol), instead of a JVM spawn per job: the JDK spawns through an exec of its
 * {@code jspawnhelper} and then of {@code gestalt-exec}, about a millisecond of CPU per job on a
 * small machine; the server forks itself and runs the job's options in the child.
 *
 * <p>What a job gets is what a {@link ProcessBuilder} gives it (pipes for stdin, stdout and
 * stderr, the environment, the working directory, the umask) and the daemon gets a
 * {@link Process} for it; the server reports exit statuses, since the jobs are its children. The
 * server is started from the {@link Spawner} thread, so that it dies with the daemon (parent-death
 * signal) and its jobs with it, as before. A server that dies is replaced at the next start; its
 * running jobs died with it and end with 137.
 */
final class SpawnServer implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(SpawnServer.class.getName());
    private static final long START_TIMEOUT_SECONDS = 10;

    private final Path helper;
    private final Spawner spawner;
    private final AtomicLong ids = new AtomicLong();
    private Instance current;

    SpawnServer(Path helper, Spawner spawner) {
        this.helper = helper;
        this.spawner = spawner;
    }

    /**
     * Starts {@code options} (gestalt-exec's arguments: options, {@code --}, the command) in
     * {@code cwd} with exactly {@code env} and {@code umask}.
     */
    Process start(List<String> options, Map<String, String> env, Path cwd, int umask) throws IOException {
        long id = ids.incrementAndGet();
        byte[] request;
        try {
            request = request(id, options, env, cwd, umask);
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
        Instance server = instance();
        var pending = new CompletableFuture<SpawnedProcess>();
        server.pending.put(id, pending);
        try {
            server.send(request);
            return pending.get(START_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new IOException("the spawn server did not answer in " + START_TIMEOUT_SECONDS + " s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        } finally {
            server.pending.remove(id);
        }
    }

    private synchronized Instance instance() throws IOException {
        if (current == null || !current.alive) {
            try {
                // umask: the server creates no files; each job gets its own from the request
                Process p = spawner.spawn(077, () -> new ProcessBuilder(helper.toString(), "--server")
                    .redirectError(ProcessBuilder.Redirect.INHERIT).start());
                current = new Instance(p);
            } catch (IOException e) {
                throw e;
            } catch (Exception e) {
                throw new IOException("cannot start the spawn server: " + e.getMessage(), e);
            }
        }
        return current;
    }

    private static byte[] request(long id, List<String> options, Map<String, String> env, Path cwd, int umask) {
        var out = new ByteArrayOutputStream(1024);
        out.writeBytes(new byte[4]); // the length, set by framed()
        field(out, "S");
        field(out, Long.toString(id));
        field(out, Integer.toOctalString(umask));
        field(out, cwd.toString());
        field(out, Integer.toString(options.size()));
        for (String o : options) {
            field(out, o);
        }
        field(out, Integer.toString(env.size()));
        for (var e : env.entrySet()) {
            field(out, e.getKey() + "=" + e.getValue());
        }
        return framed(out);
    }

    private static byte[] acknowledgement(long id) {
        var out = new ByteArrayOutputStream(32);
        out.writeBytes(new byte[4]);
        field(out, "A");
        field(out, Long.toString(id));
        return framed(out);
    }

    /** The bytes written, with the first four set to the big-endian length of the rest. */
    private static byte[] framed(ByteArrayOutputStream out) {
        byte[] b = out.toByteArray();
        int len = b.length - 4;
        b[0] = (byte) (len >>> 24);
        b[1] = (byte) (len >>> 16);
        b[2] = (byte) (len >>> 8);
        b[3] = (byte) len;
        return b;
    }

    private static void field(ByteArrayOutputStream out, String s) {
        if (s.indexOf('\0') >= 0) {
            // fields end at a NUL, and exec could not pass one either (ProcessBuilder refuses it too)
            throw new IllegalArgumentException("invalid null character in command or environment");
        }
        out.writeBytes(s.getBytes(StandardCharsets.UTF_8));
        out.write(0);
    }

    /** The running server's pid, or -1 (for tests). */
    synchronized long serverPid() {
        return current != null && current.alive ? current.process.pid() : -1;
    }

    /** Ends the server (it exits at EOF); jobs it still runs die with it. */
    @Override
    public synchronized void close() {
        if (current != null) {
            current.close();
        }
    }

    /**
     * One running server and the jobs it started. One thread writes requests, another reads
     * replies, and neither waits for the other: the reply reader must never block on the request
     * pipe (it acknowledges starts), or a full pipe each way would stop both sides.
     */
    private static final class Instance {
        private static final byte[] END = new byte[0];
        private final Process process;
        private final LinkedBlockingQueue<byte[]> outbox = new LinkedBlockingQueue<>();
        private final Map<Long, CompletableFuture<SpawnedProcess>> pending = new ConcurrentHashMap<>();
        private final Map<Long, SpawnedProcess> children = new ConcurrentHashMap<>();
        private volatile boolean alive = true;

        Instance(Process process) {
            this.process = process;
            Thread.ofPlatform().daemon().name("gestalt-spawn-requests-" + process.pid()).start(this::writeRequests);
            Thread.ofPlatform().daemon().name("gestalt-spawn-replies-" + process.pid()).start(this::readReplies);
        }

        void send(byte[] request) throws IOException {
            if (!alive) {
                throw new IOException("the spawn server ended");
            }
            outbox.add(request);
        }

        private void writeRequests() {
            try (OutputStream out = process.getOutputStream()) {
                while (true) {
                    byte[] b = outbox.take();
                    do {
                        if (b == END) {
                            return; // closing the pipe ends the server
                        }
                        out.write(b);
                    } while ((b = outbox.poll()) != null);
                    out.flush();
                }
            } catch (IOException | InterruptedException e) {
                // the server is gone: the reply reader sees it end and fails what is pending
            }
        }

        private void readReplies() {
            try (var in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                    try {
                        handle(line);
                    } catch (RuntimeException e) {
                        LOG.warning("spawn server: cannot handle '" + line + "': " + e);
                    }
                }
            } catch (IOException e) {
                // ended
            } finally {
                ended();
            }
        }

        private void handle(String line) {
            String[] f = line.split(" ", 6);
            switch (f[0]) {
                case "S" -> started(Long.parseLong(f[1]), Long.parseLong(f[2]),
                    Integer.parseInt(f[3]), Integer.parseInt(f[4]), Integer.parseInt(f[5]));
                case "F" -> {
                    var p = pending.get(Long.parseLong(f[1]));
                    if (p != null) {
                        p.completeExceptionally(new IOException(line.substring(line.indexOf(' ', 2) + 1)));
                    }
                }
                case "X" -> {
                    SpawnedProcess c = children.remove(Long.parseLong(f[1]));
                    if (c != null) {
                        int status = Integer.parseInt(f[2]);
                        // as ProcessBuilder's Process: the code, or 128+N when killed by signal N
                        c.exit.complete((status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f));
                    }
                }
                default -> LOG.warning("spawn server said: " + line);
            }
        }

        /**
         * Opens the job's pipes through the server's fds (a pipe opened through /proc is the same
         * pipe), registers the job before the next line (its exit), then lets the server close its
         * ends, so that the job sees EOF and SIGPIPE as with pipes of its own.
         */
        private void started(long id, long pid, int in, int out, int err) {
            String fds = "/proc/" + process.pid() + "/fd/";
            SpawnedProcess c = null;
            FileOutputStream stdin = null;
            FileInputStream stdout = null;
            try {
                stdin = new FileOutputStream(fds + in);
                stdout = new FileInputStream(fds + out);
                c = new SpawnedProcess(pid, stdin, stdout, new FileInputStream(fds + err));
                children.put(pid, c);
            } catch (IOException e) {
                closeQuietly(stdin);
                closeQuietly(stdout);
                Posix.kill(pid, Signals.SIGKILL);
                var p = pending.get(id);
                if (p != null) {
                    p.completeExceptionally(new IOException("cannot open the job's pipes: " + e.getMessage(), e));
                }
            }
            try {
                send(acknowledgement(id));
            } catch (IOException ignored) {
                // the server ended: ended() fails what is left
            }
            if (c == null) {
                return;
            }
            var p = pending.get(id);
            if (p == null || !p.complete(c)) {
                c.destroyForcibly(); // the caller gave up waiting: nobody holds this job
            }
        }

        private static void closeQuietly(java.io.Closeable c) {
            if (c != null) {
                try {
                    c.close();
                } catch (IOException ignored) {
                    // closing anyway
                }
            }
        }

        private void ended() {
            alive = false;
            int code = process.isAlive() ? -1 : process.exitValue();
            if (!children.isEmpty() || code != 0) {
                LOG.warning("spawn server " + process.pid() + " ended (" + (code < 0 ? "pipe closed" : "exit " + code)
                    + ") with " + children.size() + " jobs: they died with it");
            }
            for (var p : pending.values()) {
                p.completeExceptionally(new IOException("the spawn server ended"));
            }
            for (SpawnedProcess c : children.values()) {
                c.exit.complete(128 + Signals.SIGKILL); // their parent-death signal
            }
            children.clear();
        }

        void close() {
            outbox.add(END);
        }
    }
}

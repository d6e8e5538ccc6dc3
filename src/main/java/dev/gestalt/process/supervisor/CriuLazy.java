package dev.gestalt.process.supervisor;

import dev.gestalt.os.Posix;
import dev.gestalt.os.Signals;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * CRIU's page servers, as a node runs them for a move. Post-copy (lazy pages): the source's dump
 * that leaves the memory behind and serves it from its page server, the target's lazy-pages daemon
 * that pulls it as the restored process touches it, and what the images say of that memory.
 * Stop-and-copy: the target's page server, which the source's dump sends the memory to. The rest of a dump
 * and a restore is {@link Criu}'s.
 */
final class CriuLazy {

    private CriuLazy() {}

    /**
     * Post-copy: freezes the tree of {@code root} and writes all of it to {@code images} but its
     * memory, which CRIU's page server then serves from here to the target's lazy-pages daemon
     * ({@link #lazyPages}) on {@code address}, a free port, over TLS with {@code tls} (see
     * MoveKeys). Returns once the images are written, the tree frozen; {@link LazyDump#end} says
     * how the memory went. A dump that fails resumes the tree.
     */
    static LazyDump dumpLazy(long root, Path images, java.util.Collection<String> externalFiles, String address,
                             List<String> tls) throws IOException {
        int port = freePort(address);
        List<String> cmd = new ArrayList<>(List.of(Criu.binary().toString(), "dump", "-t", Long.toString(root), "-D",
            images.toString(), "-o", "dump.log", "--leave-stopped", "--ext-mount-map", "auto", "--enable-external-sharing",
            "--enable-external-masters", "--lazy-pages", "--address", address, "--port", Integer.toString(port),
            "--status-fd", "1"));
        for (String f : externalFiles) {
            cmd.add("--external");
            cmd.add(f);
        }
        cmd.addAll(tls);
        Process p = started(cmd, images.resolve("dump.out"));
        if (!ready(p, Criu.DUMP_TIMEOUT)) {
            Criu.resume(root);
            throw new IOException("criu dump failed: " + error(images.resolve("dump.log"), p));
        }
        return new LazyDump(p, address, port);
    }

    /** CRIU's dump still serving the memory of a frozen tree (see {@link #dumpLazy}). */
    record LazyDump(Process process, String address, int port) {
        /**
         * The page server goes without having served anything (the move failed before the target
         * connected): a connection that speaks no TLS makes it give up, and CRIU resumes the tree.
         */
        void abort() {
            try (var s = new java.net.Socket()) {
                s.connect(new java.net.InetSocketAddress(address, port), 2000);
            } catch (IOException e) {
                // it serves no more: ended already
            }
            end(Duration.ofSeconds(10));
        }

        /** Waits for the dump to end (the target has all the memory, or went); its exit code, killed after {@code limit}. */
        int end(Duration limit) {
            try {
                if (!process.waitFor(limit.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
                    process.destroyForcibly().waitFor();
                }
                return process.exitValue();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                process.destroyForcibly();
                return -1;
            }
        }
    }

    /**
     * Post-copy on the target: CRIU's lazy-pages daemon for the checkpoint in {@code images},
     * which pulls the memory from the source's page server as the restored process touches it,
     * and the rest in the background, then exits (0: every page arrived). Returns once it waits
     * for the restore ({@link #restoreCommand} with lazy).
     */
    static Process lazyPages(Path images, String address, int port, List<String> tls) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Criu.binary().toString(), "lazy-pages", "--page-server", "--address", address,
            "--port", Integer.toString(port), "-D", images.toString(), "-o", "lazy-pages.log", "--status-fd", "1"));
        cmd.addAll(tls);
        Process p = started(cmd, images.resolve("lazy-pages.out"));
        if (!ready(p, Duration.ofSeconds(30))) {
            throw new IOException("criu lazy-pages failed: " + error(images.resolve("lazy-pages.log"), p));
        }
        return p;
    }

    /**
     * Stop-and-copy on the target: CRIU's page server on {@code address} (a free port), writing
     * into {@code images} the memory a source's dump sends it over TLS with {@code tls}; it ends
     * when that dump ends. Returns once it listens.
     */
    static Moves.PageSink pageServer(Path images, String address, List<String> tls) throws IOException {
        int port = freePort(address);
        List<String> cmd = new ArrayList<>(List.of(Criu.binary().toString(), "page-server", "--address", address,
            "--port", Integer.toString(port), "-D", images.toString(), "-o", "page-server.log", "--status-fd", "1"));
        cmd.addAll(tls);
        Process p = started(cmd, images.resolve("page-server.out"));
        if (!ready(p, Duration.ofSeconds(30))) {
            throw new IOException("criu page-server failed: " + error(images.resolve("page-server.log"), p));
        }
        return new Moves.PageSink() {
            @Override
            public String address() {
                return address;
            }

            @Override
            public int port() {
                return port;
            }

            @Override
            public String await(Duration limit) {
                try {
                    if (!p.waitFor(limit.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
                        kill();
                        return "CRIU's page server had not ended " + limit.toSeconds() + " s after the dump";
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    kill();
                    return "interrupted";
                }
                return p.exitValue() == 0 ? null : "CRIU's page server failed: " + error(images.resolve("page-server.log"), p);
            }

            @Override
            public void kill() {
                p.destroyForcibly();
                try {
                    p.waitFor(5, java.util.concurrent.TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
    }

    /**
     * Kills CRIU's restore from {@code images} (a folder of one move alone), if it runs: it can
     * wait without end for a lazy-pages daemon that has failed.
     */
    static void killRestore(Path images) {
        String dir = images.toString();
        try (var procs = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
            for (Path p : procs) {
                try {
                    List<String> args = List.of(new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8)
                        .split("\0"));
                    int d = args.indexOf("-D");
                    if (args.contains("restore") && d >= 0 && d + 1 < args.size() && args.get(d + 1).equals(dir)) {
                        Posix.kill(Long.parseLong(p.getFileName().toString()), Signals.SIGKILL);
                    }
                } catch (IOException | RuntimeException e) {
                    // gone meanwhile
                }
            }
        } catch (IOException e) {
            // no /proc: nothing to do
        }
    }

    /** The memory a lazy dump in {@code images} left to be pulled, in bytes (its pagemaps' lazy pages). */
    static long lazyBytes(Path images) {
        long pages = 0;
        try (var files = Files.newDirectoryStream(images, "pagemap-*.img")) {
            for (Path f : files) {
                pages += lazyPages(Files.readAllBytes(f));
            }
        } catch (IOException | RuntimeException e) {
            return 0; // unknown
        }
        return pages * 4096;
    }

    /** The lazy pages of one pagemap image: magics, then size-prefixed entries (a head, then pagemap_entry). */
    static long lazyPages(byte[] img) throws IOException {
        var buf = java.nio.ByteBuffer.wrap(img).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        buf.position(8);
        long pages = 0;
        boolean head = true;
        while (buf.remaining() >= 4) {
            int size = buf.getInt();
            if (size < 0 || size > buf.remaining()) {
                throw new IOException("a truncated pagemap image");
            }
            var in = com.google.protobuf.CodedInputStream.newInstance(img, buf.position(), size);
            buf.position(buf.position() + size);
            if (head) {
                head = false;
                continue;
            }
            long nr = 0;
            long compat = 0;
            int flags = 0;
            for (int tag; (tag = in.readTag()) != 0; ) {
                switch (tag >>> 3) {
                    case 2 -> compat = in.readUInt32();
                    case 4 -> flags = in.readUInt32();
                    case 5 -> nr = in.readUInt64();
                    default -> in.skipField(tag);
                }
            }
            if ((flags & 2) != 0) { // PE_LAZY
                pages += nr != 0 ? nr : compat;
            }
        }
        return pages;
    }

    private static int freePort(String address) throws IOException {
        try (var s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName(address))) {
            return s.getLocalPort();
        }
    }

    /** CRIU started with its status fd on stdout and its other output to {@code out}. */
    private static Process started(List<String> cmd, Path out) throws IOException {
        return new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
            .redirectError(ProcessBuilder.Redirect.to(out.toFile())).start();
    }

    /** Whether CRIU said it is ready (a byte on its status fd) within {@code limit}; else it is killed. */
    private static boolean ready(Process p, Duration limit) {
        var said = new java.util.concurrent.CompletableFuture<Boolean>();
        Thread.ofVirtual().start(() -> {
            try {
                said.complete(p.getInputStream().read() == 0);
            } catch (IOException e) {
                said.complete(false);
            }
        });
        try {
            if (said.get(limit.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
                return true;
            }
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            // no word
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            if (!p.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return false;
    }


    /** CRIU's last error in its log, else how it exited. */
    private static String error(Path log, Process p) {
        String e = Criu.lastError(log);
        return e != null ? e : p.isAlive() ? "no answer" : "exit " + p.exitValue();
    }
}

package dev.gestalt.process.supervisor;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The daemon reaches the keeper of its state folder ({@link Keeper#open}): through its socket,
 * starting it ({@code gestalt-exec --keeper}) when none listens, and the keeper's greeting (its
 * pid and protocol version) checked before anything is asked of it.
 */
final class KeeperStart {
    private KeeperStart() {}

    /** A connection to a keeper that greeted this daemon, and the keeper's pid. */
    record Connected(SocketChannel channel, long pid) {}

    /**
     * Connects to the keeper of {@code stateDir}, starting one with {@code helper} when none
     * listens; refuses a keeper that speaks another {@code version} than this daemon's.
     *
     * @param answerSeconds how long a keeper that starts may take to listen
     */
    static Connected connect(Path helper, Path stateDir, String version, long answerSeconds) throws IOException {
        Path socket = stateDir.toAbsolutePath().resolve("keeper").resolve("keeper.sock");
        SocketChannel ch;
        try {
            ch = connect(socket);
        } catch (IOException e) {
            startKeeper(helper, stateDir.toAbsolutePath(), answerSeconds);
            ch = connect(socket);
        }
        try {
            List<String> hello = KeeperWire.read(ch);
            if (hello == null || hello.isEmpty()) {
                throw new IOException("the keeper closed the connection");
            }
            if (hello.getFirst().equals("N")) {
                throw new IOException("the keeper refused this daemon: " + String.join(" ", hello.subList(1, hello.size())));
            }
            if (!hello.getFirst().equals("H") || hello.size() < 3) {
                throw new IOException("the keeper said " + hello);
            }
            if (!hello.get(2).equals(version)) {
                throw new IOException("the keeper of " + stateDir + " (pid " + hello.get(1) + ") speaks version "
                    + hello.get(2) + ", this daemon " + version + ": let its jobs end (or stop it), then start again");
            }
            return new Connected(ch, Long.parseLong(hello.get(1)));
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    private static SocketChannel connect(Path socket) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            ch.connect(UnixDomainSocketAddress.of(socket));
            return ch;
        } catch (IOException e) {
            ch.close();
            throw e;
        }
    }

    /** Runs {@code gestalt-exec --keeper}: it returns once the keeper listens, or says why not on stdout. */
    private static void startKeeper(Path helper, Path stateDir, long answerSeconds) throws IOException {
        var cmd = new ArrayList<>(List.of(helper.toString(), "--keeper", stateDir.toString()));
        if (Boolean.getBoolean("gestalt.keeper.lateStatus")) {
            cmd.add("--late-status"); // a fault for the tests (see keeper.c)
        }
        var pb = new ProcessBuilder(cmd)
            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
            .redirectError(ProcessBuilder.Redirect.INHERIT); // the keeper's own diagnostics: the daemon's log
        pb.environment().clear(); // the keeper reads no environment, and gives none to its jobs
        Process p = pb.start();
        String why = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        try {
            if (!p.waitFor(answerSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("the keeper did not start within " + answerSeconds + " s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while starting the keeper");
        }
        if (p.exitValue() != 0) {
            throw new IOException(why.isEmpty() ? "the keeper did not start (exit " + p.exitValue() + ")" : why);
        }
    }
}

package dev.gestalt.cli;

import dev.gestalt.rpc.local.Frame;
import dev.gestalt.rpc.local.FrameChannel;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;

/**
 * The training run for the CLI's AOT cache: the launcher runs it once with
 * {@code -XX:AOTCacheOutput}, so the classes of the client path (argument
 * parsing, the local protocol, terminal checks) are loaded and linked from
 * the cache on every later start. It talks to a throw-away socket that
 * answers like a node; it is not used for anything else.
 */
public final class Training {

    private Training() {}

    public static void main(String[] args) throws Exception {
        Path dir = Files.createTempDirectory("gestalt-train");
        Path sock = dir.resolve("s");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(sock));
            Thread t = new Thread(() -> serve(server), "train-node");
            t.setDaemon(true);
            t.start();
            var env = new HashMap<>(System.getenv());
            env.put("GESTALT_NODE", sock.toString());
            var sink = new PrintStream(OutputStream.nullOutputStream());
            for (int i = 0; i < 20; i++) {
                Main.run(new String[] {"run", "-T", "--", "true"}, env, sink, sink);
                Main.run(new String[] {"ps", "--json"}, env, sink, sink);
                Main.run(new String[] {"kill", "-9", "1-1"}, env, sink, sink);
            }
            Main.run(new String[] {"--help"}, env, sink, sink);
            Main.run(new String[] {"run", "--help"}, env, sink, sink);
            Main.run(new String[] {"bogus"}, env, sink, sink);
        } finally {
            Files.deleteIfExists(sock);
            Files.deleteIfExists(dir);
        }
    }

    private static void serve(ServerSocketChannel server) {
        while (true) {
            try (SocketChannel ch = server.accept(); var frames = new FrameChannel(ch)) {
                byte[] hello = "train".getBytes();
                frames.write(Frame.HELLO, hello, 0, hello.length);
                frames.read();
                frames.write(Frame.ofInt(Frame.CREDIT, 65536));
                frames.write(Frame.of(Frame.KEEPALIVE));
                byte[] out = "ok\n".getBytes();
                frames.write(Frame.STDOUT, out, 0, out.length);
                frames.write(Frame.ofInt(Frame.EXIT, 0));
            } catch (Exception e) {
                return;
            }
        }
    }
}

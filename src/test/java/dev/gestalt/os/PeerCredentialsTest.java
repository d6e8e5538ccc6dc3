package dev.gestalt.os;

import org.junit.jupiter.api.Test;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class PeerCredentialsTest {

    @Test
    void sameProcessPeerIsThisUser() throws Exception {
        Path dir = Files.createTempDirectory("gst-peer");
        Path socket = dir.resolve("s");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socket));
            try (SocketChannel client = SocketChannel.open(UnixDomainSocketAddress.of(socket));
                 SocketChannel accepted = server.accept()) {
                PeerCredentials peer = PeerCredentials.of(accepted);
                assertEquals(Posix.geteuid(), peer.uid());
                assertEquals(Posix.getegid(), peer.gid());
                assertEquals(Posix.getpwuid(Posix.geteuid()).orElseThrow().name(), peer.user());
                assertEquals(peer, PeerCredentials.of(client));
            }
        } finally {
            Files.deleteIfExists(socket);
            Files.delete(dir);
        }
    }

    /** A JVM running as a throwaway user connects; the server must see that user's ids. */
    @Test
    void peerRunningAsAnotherUser() throws Exception {
        assumeTrue(Posix.geteuid() == 0, "needs root to create a user");
        Path dir = Files.createTempDirectory("gst-peer");
        Path socket = dir.resolve("s");
        Path source = dir.resolve("Connect.java");
        Files.writeString(source, """
                import java.net.UnixDomainSocketAddress;
                import java.nio.channels.SocketChannel;
                public class Connect {
                    public static void main(String[] a) throws Exception {
                        try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(a[0]))) {
                            c.read(java.nio.ByteBuffer.allocate(1));
                        }
                    }
                }
                """);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        try (TestUser user = TestUser.create();
             ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socket));
            Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rwxrwxrwx"));
            Process client = new ProcessBuilder(List.of("setpriv", "--reuid", user.name, "--regid", user.name,
                    "--init-groups", javaBin, "-XX:-UsePerfData", source.toString(), socket.toString()))
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            try (SocketChannel accepted = server.accept()) {
                PeerCredentials peer = PeerCredentials.of(accepted);
                assertEquals(new PeerCredentials(user.info.uid(), user.info.gid(), user.name), peer);
            }
            assertTrue(client.waitFor(60, TimeUnit.SECONDS));
        } finally {
            Files.deleteIfExists(socket);
            Files.deleteIfExists(source);
            Files.delete(dir);
        }
    }
}

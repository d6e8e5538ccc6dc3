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
                assertEquals(ProcessHandle.current().pid(), peer.pid());
                assertEquals(Posix.geteuid(), peer.uid());
                assertEquals(Posix.getegid(), peer.gid());
                assertEquals(Posix.getpwuid(Posix.geteuid()).orElseThrow().name(), peer.user());
                assertEquals(ProcessContext.limits(), peer.limits(), "the peer process's own limits");
                assertEquals(ownGroups(), peer.groups());
                assertEquals(peer, PeerCredentials.of(client));
            }
        } finally {
            Files.deleteIfExists(socket);
            Files.delete(dir);
        }
    }

    private static List<Integer> ownGroups() throws java.io.IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("Groups:")) {
                String rest = line.substring(7).strip();
                return rest.isEmpty() ? List.of() : java.util.Arrays.stream(rest.split("\\s+")).map(Integer::valueOf).toList();
            }
        }
        throw new AssertionError("no Groups: line");
    }

    /**
     * A process running as a throwaway user, with groups and limits of its own that are not
     * what the user database or this process would give, connects: the server sees exactly its
     * uid, gid, supplementary groups and limits.
     */
    @Test
    void peerRunningAsAnotherUserWithItsOwnGroupsAndLimits() throws Exception {
        assumeTrue(Posix.geteuid() == 0, "needs root to create a user");
        Path dir = Files.createTempDirectory("gst-peer");
        Path socket = dir.resolve("s");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        try (TestUser user = TestUser.create();
             ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socket));
            Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rwxrwxrwx"));
            // not the user's database groups (--init-groups would give the extra group too): 4242 only
            Process client = new ProcessBuilder(List.of("setpriv", "--reuid", user.name, "--regid", user.name,
                    "--groups", "4242", "prlimit", "--nofile=77:88", "--core=0:1234", "--",
                    "python3", "-c", "import socket,sys,time; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.recv(1)",
                    socket.toString()))
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            try (SocketChannel accepted = server.accept()) {
                PeerCredentials peer = PeerCredentials.of(accepted);
                assertEquals(user.info.uid(), peer.uid());
                assertEquals(user.info.gid(), peer.gid());
                assertEquals(user.name, peer.user());
                assertEquals(List.of(4242), peer.groups(), "the process's groups, not the database's");
                assertEquals(new Limit(7, 77, 88), peer.limits().get(7));
                assertEquals(new Limit(4, 0, 1234), peer.limits().get(4));
                assertEquals(client.pid(), peer.pid());
            }
            assertTrue(client.waitFor(60, TimeUnit.SECONDS));
        } finally {
            Files.deleteIfExists(socket);
            Files.delete(dir);
        }
    }

    @Test
    void limitsFromProcMatchGetrlimit() throws Exception {
        assertEquals(ProcessContext.limits(), PeerCredentials.limitsOf(ProcessHandle.current().pid()));
    }
}

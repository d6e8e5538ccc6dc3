package dev.gestalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.gestalt.rpc.proto.ListRequest;
import dev.gestalt.rpc.proto.ProcsGrpc;
import dev.gestalt.security.ClusterCa;
import dev.gestalt.security.GrpcTls;
import dev.gestalt.security.NodeCredentials;
import dev.gestalt.testkit.Cli;
import dev.gestalt.testkit.Eventually;
import dev.gestalt.testkit.LocalClusterFixture;
import dev.gestalt.testkit.Procs;
import dev.gestalt.testkit.ViewLog;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.parallel.ResourceLock;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Trust between nodes, on a real 3-node cluster (issue 7 items 5-7): a node is who its
 * certificate says (a second daemon with one node's credentials, or a config that names another
 * id, is refused); the execution node decides which uids other nodes may start processes as;
 * certificates are renewed in place and a revoked node can neither stay in the view nor call any
 * RPC. The revocation comes last: it takes node3 away for good.
 */
@Tag("e2e")
@Execution(ExecutionMode.CONCURRENT) // beside the other classes, on a cluster of its own (pom.xml: failsafe)
@ResourceLock("TrustIT") // its own tests one after another
@Timeout(value = 8, unit = TimeUnit.MINUTES)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TrustIT {

    @RegisterExtension
    static final LocalClusterFixture cluster = LocalClusterFixture.perClassOnLoopback(3);

    private static final List<Process> daemons = new ArrayList<>();
    private static String user;

    @AfterAll
    static void cleanUp() {
        daemons.forEach(p -> {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        });
        if (user != null) {
            Procs.exec(30, "userdel", user);
            Procs.exec(30, "groupdel", user);
        }
    }

    private static String conf(Path file, String key) throws IOException {
        Matcher m = Pattern.compile("(?m)^" + key + "\\s*=\\s*(.*)$").matcher(Files.readString(file));
        assertTrue(m.find(), key + " in " + file);
        return m.group(1).trim();
    }

    private static int freePort() throws IOException {
        try (var s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** A copy of node{@code n}'s folder (its credentials) with its own ports, state and socket, and name and id as given. */
    private static Path copyOf(int n, String name, int id) throws IOException {
        Path dir = Files.createTempDirectory(cluster.home(), "copy-");
        Path creds = dir.resolve("credentials");
        Files.createDirectories(creds);
        try (var files = Files.list(cluster.dir().resolve("node" + n).resolve("credentials"))) {
            for (Path f : files.toList()) {
                Files.copy(f, creds.resolve(f.getFileName()));
            }
        }
        Files.writeString(dir.resolve("node.conf"), String.join("\n",
            "cluster = " + conf(cluster.config(1), "cluster"), "name = " + name, "id = " + id,
            "state_dir = " + dir.resolve("state"), "socket = " + dir.resolve("node.sock"), "bind = 127.0.0.1",
            "gossip_port = " + freePort(), "rpc_port = " + freePort(), "seeds = " + conf(cluster.config(1), "seeds"),
            "credentials = " + creds, "remote_uids = all", "files.engine = none", ""));
        return dir;
    }

    private static Process daemon(Path dir) throws IOException {
        Process p = new ProcessBuilder(Cli.repoLauncher().toString(), "node", "--config", dir.resolve("node.conf").toString())
            .redirectErrorStream(true).redirectOutput(dir.resolve("node.log").toFile()).start();
        daemons.add(p);
        return p;
    }

    private static String logs() throws IOException {
        StringBuilder sb = new StringBuilder();
        for (int i = 1; i <= 3; i++) {
            sb.append(Files.readString(cluster.log(i)));
        }
        return sb.toString();
    }

    @Test
    @Order(1)
    void aSecondDaemonWithOneNodesCredentialsIsRefused() throws Exception {
        long mark = ViewLog.mark(cluster.log(1));
        Path twin = copyOf(2, "node2", 2);
        Process p = daemon(twin);
        assertTrue(p.waitFor(90, TimeUnit.SECONDS), "the twin gives up (it retries 20 s for a previous incarnation)");
        String out = Files.readString(twin.resolve("node.log"));
        assertEquals(1, p.exitValue(), out);
        assertTrue(out.contains("the cluster refused node2 (id 2): a node named node2 is already in the view"), out);
        // refused at its join, or, if it missed the cluster at its start and formed a group of its own, at the merge
        assertTrue(Pattern.compile("refused node2 \\(id 2\\)( \\(in a merge\\))?: a node named node2 is already in the view")
            .matcher(logs()).find(), "the coordinator says so too");
        assertEquals(List.of(), ViewLog.since(cluster.log(1), mark), "node1's view never changed");

        Path misnamed = copyOf(2, "node2", 7);
        p = daemon(misnamed);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        out = Files.readString(misnamed.resolve("node.log"));
        assertEquals(1, p.exitValue(), out);
        assertTrue(out.contains("are those of node node2 (id 2), not of node2 (id 7) as node.conf says"), out);
    }

    @Test
    @Order(2)
    void theExecutionNodeDecidesWhichUidsOtherNodesMayStartProcessesAs() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "starting processes as root and as a user needs root");
        Files.writeString(cluster.config(2), Files.readString(cluster.config(2))
            .replaceFirst("(?m)^remote_uids = .*$", "remote_uids = nonroot"));
        cluster.stop(2);
        var up = cluster.restart();
        assertEquals(0, up.exitCode(), up::describe);

        var asRoot = cluster.cli(1).run("run", "-n", "node2", "--", "id", "-u");
        assertEquals(255, asRoot.exitCode(), asRoot::describe);
        assertEquals("gestalt: refused by node2: this node does not run processes of other nodes as uid 0 (root; "
            + "remote_uids = nonroot in node.conf)\n", asRoot.stderr());
        var own = cluster.cli(2).run("run", "-n", "node2", "--", "id", "-u");
        assertEquals("0\n", own.out(), "node2's own CLI is not a remote start: " + own.describe());

        user = "gsttr" + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 20), 36);
        assertEquals(0, Procs.exec(30, "useradd", "--no-create-home", "--user-group", "--shell", "/bin/sh", user).exitCode());
        String uid = Procs.exec(10, "id", "-u", user).stdout().strip();
        String gid = Procs.exec(10, "id", "-g", user).stdout().strip();
        var asUser = cluster.cli(1).withCwd(Path.of("/tmp")).withEnv("HOME", "/tmp").withEnv("USER", user)
            .withPrefix("setpriv", "--reuid=" + uid, "--regid=" + gid, "--init-groups")
            .run("run", "-n", "node2", "--", "id", "-u");
        assertEquals(0, asUser.exitCode(), asUser::describe);
        assertEquals(uid + "\n", asUser.out());

        // a checkpoint is restored as root: a node that refuses remote root takes no process from another
        var job = cluster.cli(1).run("run", "-d", "-n", "node1", "--", "sleep", "300");
        assertEquals(0, job.exitCode(), job::describe);
        var move = cluster.cli(1).run("migrate", job.out().strip(), "node2");
        assertEquals(1, move.exitCode(), move::describe);
        assertTrue(move.stderr().contains(job.out().strip() + " cannot move")
            && move.stderr().contains("node2 takes no processes from other nodes: a checkpoint is restored as root"), move::describe);
        assertEquals(0, cluster.cli(1).run("kill", job.out().strip()).exitCode(), "it runs on node1");

        String log = Files.readString(cluster.log(2));
        assertTrue(Pattern.compile("refused remote start of 1-\\d+ as uid 0 from node1 \\(id 1\\): this node does not run")
            .matcher(log).find(), log);
        assertTrue(Pattern.compile("remote start of 1-\\d+ as uid " + uid + " \\(" + user + "\\) from home node node1 \\(id 1\\)")
            .matcher(log).find(), log);
    }

    /** The certificate a node's RPC port presents now. */
    private static X509Certificate served(int node) throws Exception {
        int port = Integer.parseInt(conf(cluster.config(node), "rpc_port"));
        var ctx = new NodeCredentials(cluster.dir().resolve("node1").resolve("credentials")).sslContext();
        try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            s.setSoTimeout(10_000);
            var p = s.getSSLParameters();
            p.setApplicationProtocols(new String[] {"h2"});
            s.setSSLParameters(p);
            s.startHandshake();
            return (X509Certificate) s.getSession().getPeerCertificates()[0];
        }
    }

    @Test
    @Order(3)
    void clusterUpRenewsCertificatesNearExpiryAndRunningNodesUseThemAtOnce() throws Exception {
        Path creds = cluster.dir().resolve("node2").resolve("credentials");
        ClusterCa ca = ClusterCa.load(cluster.dir().resolve("ca"));
        ca.issueNode("node2", 2, List.of("127.0.0.1", "localhost"), creds, Duration.ofDays(10));
        BigInteger shortLived = new NodeCredentials(creds).certificate().getSerialNumber();
        Eventually.holds(Duration.ofSeconds(15), "the running node2 presents its new certificate without a restart",
            () -> serial(2).equals(shortLived));

        var up = cluster.restart();
        assertEquals(0, up.exitCode(), up::describe);
        assertTrue(up.out().contains("Renewed the credentials of node2."), up::describe);
        assertFalse(up.out().contains("Renewed the credentials of node1."), up::describe);
        X509Certificate renewed = new NodeCredentials(creds).certificate();
        assertNotEquals(shortLived, renewed.getSerialNumber());
        long days = Duration.between(Instant.now(), renewed.getNotAfter().toInstant()).toDays();
        assertTrue(days >= ClusterCa.NODE_VALIDITY.toDays() - 1, "renewed for the full term: " + days + " days");
        Eventually.holds(Duration.ofSeconds(15), "node2 presents the renewed certificate",
            () -> serial(2).equals(renewed.getSerialNumber()));
        // home node2: its tasks may land anywhere (node2 refuses remote root since the test before)
        var r = cluster.cli(2).run("forall", "--", "echo", ":::", "a", "b", "c", "d", "e", "f");
        assertEquals(0, r.exitCode(), r::describe);
    }

    private static BigInteger serial(int node) {
        try {
            return served(node).getSerialNumber();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static StatusRuntimeException rpcFails(NodeCredentials as, int node) throws Exception {
        String address = "127.0.0.1:" + conf(cluster.config(node), "rpc_port");
        ManagedChannel ch = GrpcTls.channelBuilder(address, as).build();
        try {
            return assertThrows(StatusRuntimeException.class, () -> ProcsGrpc.newBlockingStub(ch)
                .withDeadlineAfter(10, TimeUnit.SECONDS).list(ListRequest.getDefaultInstance()));
        } finally {
            ch.shutdownNow();
        }
    }

    @Test
    @Order(4)
    void aRevokedNodeCannotStayJoinOrCallAnyRpc() throws Exception {
        long[] marks = {0, ViewLog.mark(cluster.log(1)), ViewLog.mark(cluster.log(2))};
        var revoke = Cli.of(Cli.repoLauncher()).run("init", "--dir", cluster.dir().toString(), "--revoke", "node3");
        assertEquals(0, revoke.exitCode(), revoke::describe);
        assertTrue(revoke.out().contains("Revoked 1 certificate(s) of node 'node3'"), revoke::describe);
        Path node3 = cluster.dir().resolve("node3").resolve("credentials");
        Files.deleteIfExists(node3.resolve("crl.pem")); // whoever holds node3's key has no use for the list

        for (int i : new int[] {1, 2}) {
            Eventually.holds(Duration.ofSeconds(25), "node" + i + " drops the revoked node3",
                () -> ViewLog.last(cluster.log(i), marks[i]).equals(Set.of("node1", "node2")));
        }
        var stolen = new NodeCredentials(node3);
        for (int i : new int[] {1, 2}) {
            var e = rpcFails(stolen, i);
            assertEquals(io.grpc.Status.Code.UNAVAILABLE, e.getStatus().getCode(), "refused at the handshake: " + e);
        }
        var pinned = cluster.cli(1).run("run", "-n", "node3", "--", "true");
        assertEquals(255, pinned.exitCode(), pinned::describe);
        assertTrue(Pattern.compile("refused a TLS connection with \\S+ \\(node3@\\w+\\): the certificate of node3 \\(id 3\\)"
            + " \\(serial \\w+\\) is revoked").matcher(logs()).find(), "the refusal is logged");

        // node3 restarted with its revoked credentials stays alone
        cluster.kill9(3);
        long mark1 = ViewLog.mark(cluster.log(1));
        long mark3 = ViewLog.mark(cluster.log(3));
        Process again = new ProcessBuilder(Cli.repoLauncher().toString(), "node", "--config", cluster.config(3).toString())
            .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(cluster.log(3).toFile())).start();
        daemons.add(again);
        Eventually.holds(Duration.ofSeconds(60), "the restarted node3 is up (alone)",
            () -> ViewLog.last(cluster.log(3), mark3).equals(Set.of("node3")));
        Eventually.stays(Duration.ofSeconds(15), "node3 never joins again", () -> ViewLog.since(cluster.log(1), mark1).stream()
            .noneMatch(v -> v.members().contains("node3")) && ViewLog.last(cluster.log(3), mark3).equals(Set.of("node3")));
        assertEquals(Set.of("node1", "node2"), ViewLog.last(cluster.log(1), 0));
    }
}

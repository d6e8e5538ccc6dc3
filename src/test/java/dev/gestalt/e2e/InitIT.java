package dev.gestalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gestalt.security.NodeCredentials;
import dev.gestalt.security.PeerIdentity;
import dev.gestalt.testkit.Cli;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code gestalt init} through the real CLI: what it writes for a deployment (credentials that
 * name each node and its id, node.conf with an explicit remote-root choice, a systemd unit that
 * runs the built jar), and the administration of those credentials (--renew, --revoke).
 */
@Tag("e2e")
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class InitIT {

    @TempDir Path tmp;

    private static Cli cli() {
        return Cli.of(Cli.repoLauncher());
    }

    private static PeerIdentity id(Path dir, String node) throws Exception {
        return new NodeCredentials(dir.resolve(node).resolve("credentials")).identity();
    }

    @Test
    void initWritesBoundCredentialsAnExplicitRemoteRootChoiceAndAUnitThatNeverBuilds() throws Exception {
        Path dir = tmp.resolve("conf");
        var r = cli().run("init", "--dir", dir.toString(), "--name", "prod", "--nodes", "n1=10.0.0.1,n2=10.0.0.2");
        assertEquals(0, r.exitCode(), r::describe);
        assertTrue(r.out().contains("Other nodes may not start processes as root on these nodes"), r::describe);
        assertEquals(1, id(dir, "n1").nodeId());
        assertEquals(2, id(dir, "n2").nodeId());
        String conf = Files.readString(dir.resolve("n2").resolve("node.conf"));
        assertTrue(conf.contains("\nid = 2\n") && conf.contains("\nremote_uids = nonroot\n"), conf);
        String unit = Files.readString(dir.resolve("n1").resolve("gestalt-node.service"));
        String exec = unit.lines().filter(l -> l.startsWith("ExecStart=")).findFirst().orElseThrow();
        assertFalse(exec.contains("/opt/gestalt/gestalt "), "the unit does not run the launcher (which builds): " + unit);
        assertTrue(exec.startsWith("ExecStart=/") && exec.contains("/bin/java "), "a named JDK: " + exec);
        assertTrue(unit.contains("-cp /opt/gestalt/target/gestalt.jar:/opt/gestalt/target/lib/*"), unit);
        assertTrue(unit.contains("AssertPathExists=/opt/gestalt/target/gestalt.jar"), unit);
        assertFalse(unit.contains("TieredStopAtLevel"), "the daemon gets the full JIT: " + unit);

        var more = cli().run("init", "--dir", dir.toString(), "--nodes", "n3=10.0.0.3", "--remote-root");
        assertEquals(0, more.exitCode(), more::describe);
        assertEquals(3, id(dir, "n3").nodeId(), "a new node gets a new id");
        assertTrue(Files.readString(dir.resolve("n3").resolve("node.conf")).contains("\nremote_uids = all\n"));
    }

    @Test
    void renewIssuesNewCertificatesForTheSameNamesAndIds() throws Exception {
        Path dir = tmp.resolve("conf");
        assertEquals(0, cli().run("init", "--dir", dir.toString(), "--nodes", "a,b").exitCode());
        PeerIdentity before = id(dir, "b");
        var r = cli().run("init", "--dir", dir.toString(), "--renew");
        assertEquals(0, r.exitCode(), r::describe);
        assertTrue(r.out().contains("Renewed the credentials of 2 node(s)"), r::describe);
        PeerIdentity after = id(dir, "b");
        assertNotEquals(before.serial(), after.serial());
        assertEquals(before.nodeName(), after.nodeName());
        assertEquals(before.nodeId(), after.nodeId());
        var one = cli().run("init", "--dir", dir.toString(), "--renew", "--nodes", "a");
        assertEquals(0, one.exitCode(), one::describe);
        assertTrue(one.out().contains("Renewed the credentials of 1 node(s)"), one::describe);
    }

    @Test
    void revokeWritesASignedListIntoEveryNodeFolder() throws Exception {
        Path dir = tmp.resolve("conf");
        assertEquals(0, cli().run("init", "--dir", dir.toString(), "--nodes", "a,b,c").exitCode());
        var r = cli().run("init", "--dir", dir.toString(), "--revoke", "b");
        assertEquals(0, r.exitCode(), r::describe);
        var cf = CertificateFactory.getInstance("X.509");
        var ca = new NodeCredentials(dir.resolve("a").resolve("credentials")).caCertificate();
        var b = new NodeCredentials(dir.resolve("b").resolve("credentials")).certificate();
        for (String n : new String[] {"a", "b", "c"}) {
            X509CRL crl;
            try (var in = Files.newInputStream(dir.resolve(n).resolve("credentials").resolve("crl.pem"))) {
                crl = (X509CRL) cf.generateCRL(in);
            }
            crl.verify(ca.getPublicKey());
            assertTrue(crl.isRevoked(b), n + "'s copy names b");
        }
        var unknown = cli().run("init", "--dir", dir.toString(), "--revoke", "zz");
        assertEquals(1, unknown.exitCode(), unknown::describe);
        assertEquals("gestalt init: this CA never issued a certificate for node 'zz'\n", unknown.stderr());
        var again = cli().run("init", "--dir", dir.toString(), "--nodes", "b");
        assertEquals(0, again.exitCode(), "b's folder exists: kept " + again.describe());
        var renew = cli().run("init", "--dir", dir.toString(), "--renew");
        assertTrue(renew.out().contains("skipped b (revoked)"), renew::describe);
    }

    @Test
    void usageErrorsExit2() {
        for (String[] args : new String[][] {
            {"init", "--nodes", "a"},
            {"init", "--dir", "x"},
            {"init", "--dir", "x", "--revoke", "a", "--renew"},
            {"init", "--dir", "x", "--revoke", "a", "--remote-root"},
        }) {
            var r = cli().run(args);
            assertEquals(2, r.exitCode(), r::describe);
            assertTrue(r.stderr().startsWith("gestalt init: "), r::describe);
        }
    }
}

package dev.gestalt.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClusterCaTest {

    @TempDir Path tmp;

    @Test
    void issuesNodeCredentialsThatChainToTheCa() throws Exception {
        ClusterCa ca = ClusterCa.create(tmp.resolve("ca"));
        NodeCredentials creds = ca.issueNode("n1", List.of("10.1.2.3", "n1.example"), tmp.resolve("n1"));

        assertTrue(creds.exists());
        X509Certificate node = creds.certificate();
        node.verify(ca.certificate().getPublicKey());
        assertEquals("EC", node.getPublicKey().getAlgorithm());
        assertEquals(new PeerIdentity("n1", ca.clusterId()), creds.identity());
        assertEquals(ca.clusterId(), PeerIdentity.of(ca.certificate()).clusterId());
        assertTrue(node.getExtendedKeyUsage().containsAll(List.of("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2")));
        assertEquals(-1, node.getBasicConstraints());
        assertEquals(0, ca.certificate().getBasicConstraints());
        Set<String> sans = node.getSubjectAlternativeNames().stream()
                .map(l -> l.get(1).toString()).collect(Collectors.toSet());
        assertEquals(Set.of("n1", "localhost", "127.0.0.1", "10.1.2.3", "n1.example"), sans);

        KeyStore ks = creds.keyStore();
        assertEquals(List.of(NodeCredentials.KEY_ALIAS), Collections.list(ks.aliases()));
        assertEquals(2, ks.getCertificateChain(NodeCredentials.KEY_ALIAS).length);
        KeyStore ts = creds.trustStore();
        assertEquals(1, ts.size());
        assertEquals(ca.certificate(), ts.getCertificate(Collections.list(ts.aliases()).getFirst()));
        assertEquals(ca.certificate(), creds.caCertificate());
    }

    @Test
    void keysArePrivateFiles() throws Exception {
        ClusterCa ca = ClusterCa.create(tmp.resolve("ca"));
        NodeCredentials creds = ca.issueNode("n1", List.of(), tmp.resolve("n1"));
        Set<PosixFilePermission> ownerOnly = Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
        for (Path p : List.of(ca.dir().resolve("ca.key"), creds.key(), creds.keyStorePath(), creds.trustStorePath())) {
            assertEquals(ownerOnly, Files.getPosixFilePermissions(p), p.toString());
        }
    }

    @Test
    void reloadsTheSameCaAndRefusesToOverwriteIt() throws Exception {
        ClusterCa ca = ClusterCa.create(tmp.resolve("ca"));
        ClusterCa again = ClusterCa.load(tmp.resolve("ca"));
        assertEquals(ca.clusterId(), again.clusterId());
        assertEquals(ca.certificate(), again.certificate());
        again.issueNode("n2", List.of(), tmp.resolve("n2")).certificate().verify(ca.certificate().getPublicKey());
        assertEquals(ca.clusterId(), ClusterCa.loadOrCreate(tmp.resolve("ca")).clusterId());
        assertThrows(FileAlreadyExistsException.class, () -> ClusterCa.create(tmp.resolve("ca")));
    }

    @Test
    void twoClustersHaveDifferentIds() throws Exception {
        ClusterCa a = ClusterCa.create(tmp.resolve("a"));
        ClusterCa b = ClusterCa.create(tmp.resolve("b"));
        assertNotEquals(a.clusterId(), b.clusterId());
        assertNotEquals(a.issueNode("x", List.of(), tmp.resolve("xa")).identity(),
                b.issueNode("x", List.of(), tmp.resolve("xb")).identity());
    }

    @Test
    void rejectsNodeNamesThatAreNotHostLike() throws Exception {
        ClusterCa ca = ClusterCa.create(tmp.resolve("ca"));
        assertThrows(IllegalArgumentException.class, () -> ca.issueNode("a,b=c", List.of(), tmp.resolve("bad")));
    }
}

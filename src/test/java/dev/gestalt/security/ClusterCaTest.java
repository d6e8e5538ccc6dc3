package dev.gestalt.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
        NodeCredentials creds = ca.issueNode("n1", 1, List.of("10.1.2.3", "n1.example"), tmp.resolve("n1"));

        assertTrue(creds.exists());
        X509Certificate node = creds.certificate();
        node.verify(ca.certificate().getPublicKey());
        assertEquals("EC", node.getPublicKey().getAlgorithm());
        assertEquals(new PeerIdentity("n1", 1, ca.clusterId(), node.getSerialNumber()), creds.identity());
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
        NodeCredentials creds = ca.issueNode("n1", 1, List.of(), tmp.resolve("n1"));
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
        again.issueNode("n2", 2, List.of(), tmp.resolve("n2")).certificate().verify(ca.certificate().getPublicKey());
        assertEquals(ca.clusterId(), ClusterCa.loadOrCreate(tmp.resolve("ca")).clusterId());
        assertThrows(FileAlreadyExistsException.class, () -> ClusterCa.create(tmp.resolve("ca")));
    }

    @Test
    void twoClustersHaveDifferentIds() throws Exception {
        ClusterCa a = ClusterCa.create(tmp.resolve("a"));
        ClusterCa b = ClusterCa.create(tmp.resolve("b"));
        assertNotEquals(a.clusterId(), b.clusterId());
        assertNotEquals(a.issueNode("x", 1, List.of(), tmp.resolve("xa")).identity(),
                b.issueNode("x", 1, List.of(), tmp.resolve("xb")).identity());
    }

    @Test
    void aCertificateNamesTheNodeAndItsIdAndIsShortLived() throws Exception {
        ClusterCa ca = ClusterCa.create(tmp.resolve("ca"));
        X509Certificate cert = ca.issueNode("n7", 7, List.of(), tmp.resolve("n7")).certificate();
        PeerIdentity id = PeerIdentity.of(cert);
        assertEquals("n7", id.nodeName());
        assertEquals(7, id.nodeId());
        assertEquals(ca.clusterId(), id.clusterId());
        long days = java.time.Duration.between(java.time.Instant.now(), cert.getNotAfter().toInstant()).toDays();
        assertTrue(days >= ClusterCa.NODE_VALIDITY.toDays() - 1 && days <= ClusterCa.NODE_VALIDITY.toDays(), "valid " + days + " days");
        assertEquals(PeerIdentity.NO_ID, PeerIdentity.of(ca.certificate()).nodeId());
    }

    @Test
    void aNameKeepsItsIdAndNoTwoNamesShareOne() throws Exception {
        ClusterCa ca = ClusterCa.create(tmp.resolve("ca"));
        assertEquals(1, ca.idFor("a"));
        ca.issueNode("a", 1, List.of(), tmp.resolve("a"));
        ca.issueNode("b", ca.idFor("b"), List.of(), tmp.resolve("b"));
        assertEquals(1, ca.idFor("a"), "a renewed keeps id 1");
        assertEquals(2, ca.idFor("b"));
        assertEquals(3, ca.idFor("c"), "a new name gets an id never handed out");
        var e = assertThrows(IllegalArgumentException.class, () -> ca.issueNode("c", 1, List.of(), tmp.resolve("c")));
        assertTrue(e.getMessage().contains("belongs to node a"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ca.issueNode("a", 5, List.of(), tmp.resolve("a")));
        assertTrue(e.getMessage().contains("has id 1"), e.getMessage());
        assertEquals(java.util.Map.of("a", 1, "b", 2), ca.nodes());
    }

    @Test
    void aRevocationListSignedByTheCaNamesTheRevokedNodesCertificates() throws Exception {
        ClusterCa ca = ClusterCa.create(tmp.resolve("ca"));
        X509Certificate first = ca.issueNode("a", 1, List.of(), tmp.resolve("a-old")).certificate();
        NodeCredentials a = ca.issueNode("a", 1, List.of(), tmp.resolve("a"));
        NodeCredentials b = ca.issueNode("b", 2, List.of(), tmp.resolve("b"));
        assertFalse(b.revocations().isRevoked(a.identity()));
        assertEquals(2, ca.revoke("a"), "both certificates of a");
        assertTrue(ca.isRevoked("a"));
        assertFalse(ca.isRevoked("b"));
        var crl = Pem.readCrl(ca.crlFile());
        crl.verify(ca.certificate().getPublicKey());
        assertTrue(crl.isRevoked(first) && crl.isRevoked(a.certificate()) && !crl.isRevoked(b.certificate()));

        java.nio.file.Files.copy(ca.crlFile(), b.crl(), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Thread.sleep(Revocations.CHECK_MILLIS + 100);
        assertTrue(b.revocations().isRevoked(a.identity()), "b reads the new list when it changes");
        var tm = ClusterTrustManager.of(b);
        var ce = assertThrows(java.security.cert.CertificateException.class,
            () -> tm.checkClientTrusted(new X509Certificate[] {a.certificate(), ca.certificate()}, "EC"));
        assertTrue(ce.getMessage().contains("revoked"), ce.getMessage());
        tm.checkClientTrusted(new X509Certificate[] {b.certificate(), ca.certificate()}, "EC");

        // a list not signed by this cluster's CA is ignored: the revocation stays
        ClusterCa other = ClusterCa.create(tmp.resolve("other"));
        Pem.writeCrl(b.crl(), other.crl());
        Thread.sleep(Revocations.CHECK_MILLIS + 100);
        assertTrue(b.revocations().isRevoked(a.identity()));
    }

    @Test
    void rejectsNodeNamesThatAreNotHostLike() throws Exception {
        ClusterCa ca = ClusterCa.create(tmp.resolve("ca"));
        assertThrows(IllegalArgumentException.class, () -> ca.issueNode("a,b=c", 1, List.of(), tmp.resolve("bad")));
    }
}

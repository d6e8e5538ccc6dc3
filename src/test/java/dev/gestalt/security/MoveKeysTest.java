package dev.gestalt.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MoveKeysTest {

    private static X509Certificate cert(String pem) throws Exception {
        return (X509Certificate) CertificateFactory.getInstance("X.509")
            .generateCertificate(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)));
    }

    private static byte[] der(String pem) {
        return Base64.getMimeDecoder().decode(pem.replaceAll("-----[A-Z ]+-----", ""));
    }

    /** Both certificates are signed by the move's own CA, which is a CA; each move gets another one. */
    @Test
    void bothEndsAreSignedByACaOfTheirOwn() throws Exception {
        MoveKeys k = MoveKeys.create("1-42");
        X509Certificate ca = cert(k.caPem());
        assertTrue(ca.getBasicConstraints() >= 0, "the CA is a CA");
        for (String leaf : List.of(k.sourceCertPem(), k.targetCertPem())) {
            X509Certificate c = cert(leaf);
            c.verify(ca.getPublicKey());
            c.checkValidity();
            assertEquals(-1, c.getBasicConstraints(), "a leaf signs nothing");
        }
        MoveKeys other = MoveKeys.create("1-42");
        assertNotEquals(k.caPem(), other.caPem());
        assertThrows(java.security.SignatureException.class,
            () -> cert(other.targetCertPem()).verify(ca.getPublicKey()), "another move's key does not open this one's page server");
    }

    /** GnuTLS (CRIU) needs the public key inside the ECPrivateKey, as OpenSSL writes it; the JDK leaves it out. */
    @Test
    void keysCarryTheirPublicKeyAsOpenSslWritesThem() throws Exception {
        MoveKeys k = MoveKeys.create("1-7");
        for (String key : List.of(k.sourceKeyPem(), k.targetKeyPem())) {
            assertTrue(key.startsWith("-----BEGIN PRIVATE KEY-----"), key);
            var ec = org.bouncycastle.asn1.sec.ECPrivateKey.getInstance(PrivateKeyInfo.getInstance(der(key)).parsePrivateKey());
            assertTrue(ec.getPublicKey() != null, "the public key is in the private key");
        }
    }

    /** Written for CRIU: root's alone, never over something already there (a link planted in the folder). */
    @Test
    void writtenReadableByTheOwnerAlone(@TempDir Path dir) throws Exception {
        MoveKeys k = MoveKeys.create("1-9");
        List<String> opts = MoveKeys.write(dir, k.caPem(), k.targetCertPem(), k.targetKeyPem());
        assertEquals(List.of("--tls", "--tls-cacert", dir.resolve("tls-ca.pem").toString(), "--tls-cert",
            dir.resolve("tls-cert.pem").toString(), "--tls-key", dir.resolve("tls-key.pem").toString(), "--tls-no-cn-verify"), opts);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("tls-key.pem"))));
        assertEquals(k.targetKeyPem(), Files.readString(dir.resolve("tls-key.pem")));
        Path other = dir.resolve("sub");
        Files.createDirectory(other);
        Files.createSymbolicLink(other.resolve("tls-ca.pem"), dir.resolve("elsewhere"));
        assertThrows(FileAlreadyExistsException.class, () -> MoveKeys.write(other, k.caPem(), k.targetCertPem(), k.targetKeyPem()));
        assertTrue(Files.notExists(dir.resolve("elsewhere")), "nothing written through the link");
    }
}

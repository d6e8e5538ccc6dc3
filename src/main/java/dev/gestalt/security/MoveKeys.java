package dev.gestalt.security;

import java.io.IOException;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemWriter;

/**
 * The credentials of one post-copy move: a certificate authority made for it alone, and two
 * certificates it signed, one for CRIU's page server on the source and one for the target's
 * lazy-pages daemon. The CA's key is thrown away once both are signed; the target's key travels
 * to the target inside the move's own stream (the node channel, mutual TLS between the two
 * nodes' certificates). So only the chosen target can read the frozen process's memory from the
 * page server, not any holder of a cluster certificate (CRIU checks the peer against the CA it is
 * given; it cannot check a node name, as it dials by address).
 */
public record MoveKeys(String caPem, String sourceCertPem, String sourceKeyPem, String targetCertPem,
                       String targetKeyPem) {
    /** Long enough for the slowest transfer of memory; the CA signs nothing after the move started. */
    private static final Duration VALIDITY = Duration.ofDays(1);

    /** New keys for one move. */
    public static MoveKeys create(String gpid) throws GeneralSecurityException {
        KeyPair ca = ClusterCa.newKeyPair();
        X500Name caName = new X500Name("CN=Gestalt move of " + gpid);
        Instant now = Instant.now();
        X509Certificate caCert = certificate(caName, caName, ca.getPublic(), true, ca.getPrivate(), now);
        KeyPair source = ClusterCa.newKeyPair();
        KeyPair target = ClusterCa.newKeyPair();
        return new MoveKeys(pem("CERTIFICATE", caCert.getEncoded()),
            pem("CERTIFICATE", leaf(caName, ca.getPrivate(), "source", source, now).getEncoded()),
            pem("PRIVATE KEY", pkcs8(source)),
            pem("CERTIFICATE", leaf(caName, ca.getPrivate(), "target", target, now).getEncoded()),
            pem("PRIVATE KEY", pkcs8(target)));
    }

    /**
     * Writes a CA, a certificate and its key into {@code dir} (a folder of root's) as ca.pem,
     * cert.pem and key.pem, readable by root alone, refusing anything already there; returns the
     * CRIU options that use them.
     */
    public static java.util.List<String> write(Path dir, String caPem, String certPem, String keyPem) throws IOException {
        Path ca = create(dir.resolve("tls-ca.pem"), caPem);
        Path cert = create(dir.resolve("tls-cert.pem"), certPem);
        Path key = create(dir.resolve("tls-key.pem"), keyPem);
        return java.util.List.of("--tls", "--tls-cacert", ca.toString(), "--tls-cert", cert.toString(), "--tls-key",
            key.toString(), "--tls-no-cn-verify");
    }

    private static Path create(Path file, String text) throws IOException {
        try (var ch = Files.newByteChannel(file, java.util.Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                LinkOption.NOFOLLOW_LINKS), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
            ch.write(java.nio.ByteBuffer.wrap(text.getBytes(StandardCharsets.US_ASCII)));
        }
        return file;
    }

    private static X509Certificate leaf(X500Name issuer, PrivateKey caKey, String cn, KeyPair kp, Instant now)
            throws GeneralSecurityException {
        return certificate(issuer, new X500Name("CN=" + cn), kp.getPublic(), false, caKey, now);
    }

    private static X509Certificate certificate(X500Name issuer, X500Name subject, java.security.PublicKey key, boolean ca,
                                               PrivateKey signer, Instant now) throws GeneralSecurityException {
        try {
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuer, ClusterCa.serial(), Date.from(now.minusSeconds(300)),
                Date.from(now.plus(VALIDITY)), subject, key)
                .addExtension(Extension.basicConstraints, true, ca ? new BasicConstraints(0) : new BasicConstraints(false))
                .addExtension(Extension.keyUsage, true, new KeyUsage(ca ? KeyUsage.keyCertSign : KeyUsage.digitalSignature));
            return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA")
                .build(signer)));
        } catch (OperatorCreationException | IOException e) {
            throw new GeneralSecurityException(e);
        }
    }

    /**
     * An EC key as OpenSSL writes it (PKCS#8 holding an ECPrivateKey with its public key): the
     * JDK's encoding leaves the public key out, and GnuTLS (CRIU's TLS) refuses that
     * ("ASN1 parser: Element was not found").
     */
    private static byte[] pkcs8(KeyPair kp) throws GeneralSecurityException {
        try {
            var info = org.bouncycastle.asn1.pkcs.PrivateKeyInfo.getInstance(kp.getPrivate().getEncoded());
            var pub = org.bouncycastle.asn1.x509.SubjectPublicKeyInfo.getInstance(kp.getPublic().getEncoded());
            var ec = new org.bouncycastle.asn1.sec.ECPrivateKey(256,
                ((java.security.interfaces.ECPrivateKey) kp.getPrivate()).getS(), pub.getPublicKeyData(), null);
            return new org.bouncycastle.asn1.pkcs.PrivateKeyInfo(info.getPrivateKeyAlgorithm(), ec).getEncoded();
        } catch (IOException e) {
            throw new GeneralSecurityException(e);
        }
    }

    private static String pem(String type, byte[] der) {
        var text = new StringWriter();
        try (var w = new PemWriter(text)) {
            w.writeObject(new PemObject(type, der));
        } catch (IOException e) {
            throw new IllegalStateException(e); // a StringWriter does not fail
        }
        return text.toString();
    }
}

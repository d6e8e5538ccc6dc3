package dev.gestalt.security;

import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemWriter;

/** Reading and writing PEM certificates and PKCS#8 keys, and private-file creation. */
final class Pem {

    private Pem() {}

    static void writeCertificate(Path file, X509Certificate cert) throws IOException, CertificateException {
        write(file, new PemObject("CERTIFICATE", cert.getEncoded()), false);
    }

    static void writeKey(Path file, PrivateKey key) throws IOException {
        write(file, new PemObject("PRIVATE KEY", key.getEncoded()), true);
    }

    static X509Certificate readCertificate(Path file) throws IOException, CertificateException {
        Object o = parse(file);
        if (!(o instanceof X509CertificateHolder h)) {
            throw new IOException(file + ": not a PEM certificate");
        }
        return new JcaX509CertificateConverter().getCertificate(h);
    }

    static PrivateKey readKey(Path file) throws IOException {
        Object o = parse(file);
        if (!(o instanceof PrivateKeyInfo info)) {
            throw new IOException(file + ": not a PKCS#8 PEM private key");
        }
        return new JcaPEMKeyConverter().getPrivateKey(info);
    }

    /** Writes bytes to a new file; a private file is created with mode 0600 before any byte lands in it. */
    static void writePrivate(Path file, byte[] bytes) throws IOException {
        Files.deleteIfExists(file);
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.write(file, bytes);
    }

    private static void write(Path file, PemObject obj, boolean secret) throws IOException {
        var text = new StringWriter();
        try (var w = new PemWriter(text)) {
            w.writeObject(obj);
        }
        byte[] bytes = text.toString().getBytes(StandardCharsets.US_ASCII);
        if (secret) {
            writePrivate(file, bytes);
        } else {
            Files.write(file, bytes);
        }
    }

    private static Object parse(Path file) throws IOException {
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.US_ASCII); var p = new PEMParser(r)) {
            return p.readObject();
        }
    }
}

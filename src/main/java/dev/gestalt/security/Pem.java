package dev.gestalt.security;

import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PrivateKey;
import java.security.cert.CRLException;
import java.security.cert.CertificateException;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CRLHolder;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CRLConverter;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemWriter;

/** Reading and writing PEM certificates, revocation lists and PKCS#8 keys; private and atomic file writes. */
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

    static void writeCrl(Path file, X509CRL crl) throws IOException, CRLException {
        write(file, new PemObject("X509 CRL", crl.getEncoded()), false);
    }

    static X509CRL readCrl(Path file) throws IOException, CRLException {
        Object o = parse(file);
        if (!(o instanceof X509CRLHolder h)) {
            throw new IOException(file + ": not a PEM certificate revocation list");
        }
        return new JcaX509CRLConverter().getCRL(h);
    }

    /** Writes bytes to a private file (mode 0600 before any byte lands in it), replacing it atomically. */
    static void writePrivate(Path file, byte[] bytes) throws IOException {
        writeAtomically(file, bytes, true);
    }

    /**
     * Writes a file under a temporary name and renames it over the old one, so that a daemon that
     * reloads the file when it changes (credentials, revocation list) never reads half of it.
     */
    static void writeAtomically(Path file, byte[] bytes, boolean secret) throws IOException {
        Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(
            PosixFilePermissions.fromString(secret ? "rw-------" : "rw-r--r--")));
        Files.write(tmp, bytes);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static void write(Path file, PemObject obj, boolean secret) throws IOException {
        var text = new StringWriter();
        try (var w = new PemWriter(text)) {
            w.writeObject(obj);
        }
        writeAtomically(file, text.toString().getBytes(StandardCharsets.US_ASCII), secret);
    }

    private static Object parse(Path file) throws IOException {
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.US_ASCII); var p = new PEMParser(r)) {
            return p.readObject();
        }
    }
}

package dev.gestalt.security;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Date;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.CRLReason;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509CRLHolder;
import org.bouncycastle.cert.X509v2CRLBuilder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CRLConverter;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The certificate authority of one cluster, kept in a folder:
 * <ul>
 *   <li>{@code ca.crt} — the CA certificate (PEM), the trust root of every node;</li>
 *   <li>{@code ca.key} — its private key (PKCS#8 PEM, mode 0600);</li>
 *   <li>{@code cluster-id} — the cluster's random id, also the {@code O=} of every certificate;</li>
 *   <li>{@code issued} — every certificate it issued: serial, node name, node id, expiry,
 *       revocation ({@link CaIndex}); a node name keeps its id, a new name gets a new id;</li>
 *   <li>{@code crl.pem} — the revocation list, signed by the CA, rewritten by {@link #revoke}.</li>
 * </ul>
 * Keys are EC P-256 signed with SHA256withECDSA: TLS 1.3 in the JDK, in Netty and in JGroups'
 * JDK sockets all accept them. The CA is valid for ten years. A node certificate names the node
 * (CN) and its id (UID) and is valid for {@link #NODE_VALIDITY}: a stolen node key is of use for
 * weeks, not years, and {@link #revoke} ends it sooner. Renewal issues a new key and certificate
 * for the same name and id ({@code gestalt init --renew}; {@code cluster up} does it for a local
 * cluster when less than {@link #RENEW_BEFORE} is left).
 */
public final class ClusterCa {

    /** The common name of every cluster CA certificate. */
    public static final String CA_NAME = "Gestalt cluster CA";
    /** Validity of a new CA. */
    public static final Duration VALIDITY = Duration.ofDays(3652);
    /** Validity of a node certificate. */
    public static final Duration NODE_VALIDITY = Duration.ofDays(90);
    /** A node certificate with less than this left is due for renewal. */
    public static final Duration RENEW_BEFORE = Duration.ofDays(30);

    private static final String SIGNATURE = "SHA256withECDSA";
    private static final Pattern NODE_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path dir;
    private final String clusterId;
    private final X509Certificate cert;
    private final PrivateKey key;

    private ClusterCa(Path dir, String clusterId, X509Certificate cert, PrivateKey key) {
        this.dir = dir;
        this.clusterId = clusterId;
        this.cert = cert;
        this.key = key;
    }

    /** Creates a new CA with a fresh cluster id in {@code dir}; fails if the folder already holds a CA. */
    public static ClusterCa create(Path dir) throws IOException, GeneralSecurityException {
        Files.createDirectories(dir);
        if (Files.exists(dir.resolve("ca.key")) || Files.exists(dir.resolve("ca.crt"))) {
            throw new FileAlreadyExistsException(dir.resolve("ca.crt").toString(), null, "a cluster CA is already there");
        }
        byte[] idBytes = new byte[8];
        RANDOM.nextBytes(idBytes);
        String clusterId = HexFormat.of().formatHex(idBytes);
        KeyPair kp = newKeyPair();
        Instant now = Instant.now();
        X500Name subject = name(CA_NAME, clusterId);
        try {
            var ext = new JcaX509ExtensionUtils();
            var b = new JcaX509v3CertificateBuilder(subject, serial(), Date.from(now.minus(Duration.ofHours(1))),
                    Date.from(now.plus(VALIDITY)), subject, kp.getPublic());
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(kp.getPublic()));
            X509Certificate cert = sign(b, kp.getPrivate());
            Pem.writeKey(dir.resolve("ca.key"), kp.getPrivate());
            Pem.writeCertificate(dir.resolve("ca.crt"), cert);
            Files.writeString(dir.resolve("cluster-id"), clusterId + "\n", StandardCharsets.US_ASCII);
            return new ClusterCa(dir, clusterId, cert, kp.getPrivate());
        } catch (CertIOException e) {
            throw new IOException(e);
        }
    }

    /** Loads the CA that {@link #create} wrote into {@code dir}. */
    public static ClusterCa load(Path dir) throws IOException, GeneralSecurityException {
        String clusterId = Files.readString(dir.resolve("cluster-id"), StandardCharsets.US_ASCII).strip();
        X509Certificate cert = Pem.readCertificate(dir.resolve("ca.crt"));
        PrivateKey key = Pem.readKey(dir.resolve("ca.key"));
        if (!PeerIdentity.of(cert).clusterId().equals(clusterId)) {
            throw new GeneralSecurityException(dir + ": cluster-id does not match the O= of ca.crt");
        }
        return new ClusterCa(dir, clusterId, cert, key);
    }

    /** Loads the CA in {@code dir}, or creates one if the folder has none. */
    public static ClusterCa loadOrCreate(Path dir) throws IOException, GeneralSecurityException {
        return Files.exists(dir.resolve("ca.crt")) ? load(dir) : create(dir);
    }

    public Path dir() { return dir; }

    /** The random id of this cluster, the {@code O=} of all its certificates. */
    public String clusterId() { return clusterId; }

    public X509Certificate certificate() { return cert; }

    /**
     * The id this CA bound to {@code nodeName}, or a new one (never handed out before) if it has
     * not issued a certificate for that name yet.
     */
    public int idFor(String nodeName) throws IOException {
        CaIndex index = CaIndex.load(dir);
        return index.idOf(nodeName).orElse(index.nextId());
    }

    /**
     * Issues a certificate for a node and writes a complete {@link NodeCredentials} folder, with
     * the CA's current revocation list.
     *
     * @param nodeName the node's name, also its JGroups logical name; letters, digits, {@code . _ -}
     * @param nodeId the node's id (see {@link #idFor}); a name keeps its id, and no two names share one
     * @param sansDnsOrIp extra subject alternative names: IP literals become IP SANs, the rest DNS SANs;
     *                    the node name, {@code localhost} and {@code 127.0.0.1} are always added
     * @param outDir the folder to write (created if needed; existing credentials are replaced)
     */
    public NodeCredentials issueNode(String nodeName, int nodeId, List<String> sansDnsOrIp, Path outDir)
            throws IOException, GeneralSecurityException {
        return issueNode(nodeName, nodeId, sansDnsOrIp, outDir, NODE_VALIDITY);
    }

    /** {@link #issueNode(String, int, List, Path)} with another validity (never past the CA's own). */
    public NodeCredentials issueNode(String nodeName, int nodeId, List<String> sansDnsOrIp, Path outDir, Duration validity)
            throws IOException, GeneralSecurityException {
        if (!NODE_NAME.matcher(nodeName).matches()) {
            throw new IllegalArgumentException("bad node name: " + nodeName);
        }
        if (nodeId <= 0) {
            throw new IllegalArgumentException("bad node id: " + nodeId);
        }
        CaIndex index = CaIndex.load(dir);
        if (index.idOf(nodeName).isPresent() && index.idOf(nodeName).getAsInt() != nodeId) {
            throw new IllegalArgumentException("node " + nodeName + " has id " + index.idOf(nodeName).getAsInt()
                + " in this cluster, not " + nodeId);
        }
        String holder = index.nameOf(nodeId);
        if (holder != null && !holder.equals(nodeName)) {
            throw new IllegalArgumentException("id " + nodeId + " belongs to node " + holder + " in this cluster");
        }
        Files.createDirectories(outDir);
        KeyPair kp = newKeyPair();
        Instant now = Instant.now();
        Instant notAfter = now.plus(validity).isBefore(cert.getNotAfter().toInstant())
            ? now.plus(validity) : cert.getNotAfter().toInstant();
        BigInteger serial = serial();
        try {
            var ext = new JcaX509ExtensionUtils();
            var b = new JcaX509v3CertificateBuilder(cert, serial, Date.from(now.minus(Duration.ofHours(1))),
                    Date.from(notAfter), nodeName(nodeName, nodeId, clusterId), kp.getPublic());
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            b.addExtension(Extension.extendedKeyUsage, false,
                    new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
            b.addExtension(Extension.subjectAlternativeName, false, altNames(nodeName, sansDnsOrIp));
            b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(kp.getPublic()));
            b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(cert));
            X509Certificate nodeCert = sign(b, key);
            index.add(new CaIndex.Entry(serial, nodeName, nodeId, notAfter.truncatedTo(ChronoUnit.SECONDS), null));
            writeCredentials(outDir, kp.getPrivate(), nodeCert);
            Pem.writeCrl(new NodeCredentials(outDir).crl(), crl());
            return new NodeCredentials(outDir);
        } catch (CertIOException e) {
            throw new IOException(e);
        }
    }

    /**
     * Revokes every certificate issued for {@code nodeName} and rewrites {@code crl.pem}.
     *
     * @return how many certificates were revoked (0 if the node had none, or all were revoked already)
     */
    public int revoke(String nodeName) throws IOException, GeneralSecurityException {
        int n = CaIndex.load(dir).revoke(nodeName, Instant.now());
        Pem.writeCrl(crlFile(), crl());
        return n;
    }

    /** Where the CA keeps its current revocation list. */
    public Path crlFile() {
        return dir.resolve("crl.pem");
    }

    /** Names and ids of the nodes this CA issued certificates for, in the order first issued. */
    public java.util.Map<String, Integer> nodes() throws IOException {
        var out = new java.util.LinkedHashMap<String, Integer>();
        for (CaIndex.Entry e : CaIndex.load(dir).entries()) {
            out.putIfAbsent(e.name(), e.id());
        }
        return out;
    }

    /** Whether every certificate issued for {@code nodeName} is revoked (false if none was issued). */
    public boolean isRevoked(String nodeName) throws IOException {
        var mine = CaIndex.load(dir).entries().stream().filter(e -> e.name().equals(nodeName)).toList();
        return !mine.isEmpty() && mine.stream().allMatch(CaIndex.Entry::revoked);
    }

    /** A revocation list of every certificate revoked so far, signed now. */
    public X509CRL crl() throws IOException, GeneralSecurityException {
        Instant now = Instant.now();
        var b = new X509v2CRLBuilder(new JcaX509CertificateHolder(cert).getSubject(), Date.from(now));
        // Nodes do not refuse a list for its age (a cluster must not stop because nobody re-signed it).
        b.setNextUpdate(cert.getNotAfter());
        for (CaIndex.Entry e : CaIndex.load(dir).entries()) {
            if (e.revoked()) {
                b.addCRLEntry(e.serial(), Date.from(e.revokedAt()), CRLReason.keyCompromise);
            }
        }
        try {
            X509CRLHolder h = b.build(new JcaContentSignerBuilder(SIGNATURE).build(key));
            return new JcaX509CRLConverter().getCRL(h);
        } catch (OperatorCreationException e) {
            throw new GeneralSecurityException(e);
        }
    }

    private void writeCredentials(Path outDir, PrivateKey nodeKey, X509Certificate nodeCert)
            throws IOException, GeneralSecurityException {
        var creds = new NodeCredentials(outDir);
        char[] pw = NodeCredentials.STORE_PASSWORD.toCharArray();
        Pem.writeCertificate(creds.caCert(), cert);
        Pem.writeCertificate(creds.cert(), nodeCert);
        Pem.writeKey(creds.key(), nodeKey);
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, pw);
        ks.setKeyEntry(NodeCredentials.KEY_ALIAS, nodeKey, pw, new Certificate[] {nodeCert, cert});
        Pem.writePrivate(creds.keyStorePath(), store(ks, pw));
        KeyStore ts = KeyStore.getInstance("PKCS12");
        ts.load(null, pw);
        ts.setCertificateEntry("ca", cert);
        Pem.writePrivate(creds.trustStorePath(), store(ts, pw));
    }

    private static byte[] store(KeyStore ks, char[] pw) throws IOException, GeneralSecurityException {
        var out = new ByteArrayOutputStream();
        ks.store(out, pw);
        return out.toByteArray();
    }

    private static GeneralNames altNames(String nodeName, List<String> extra) {
        var all = new LinkedHashSet<String>();
        all.add(nodeName);
        all.add("localhost");
        all.add("127.0.0.1");
        all.addAll(Objects.requireNonNull(extra));
        var names = new ArrayList<GeneralName>();
        for (String s : all) {
            names.add(new GeneralName(isIpLiteral(s) ? GeneralName.iPAddress : GeneralName.dNSName, s));
        }
        return new GeneralNames(names.toArray(GeneralName[]::new));
    }

    private static boolean isIpLiteral(String s) {
        if (s.contains(":")) {
            return true;
        }
        if (!s.matches("[0-9.]+")) {
            return false;
        }
        try {
            InetAddress.ofLiteral(s);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static X500Name name(String cn, String clusterId) {
        return new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, clusterId).addRDN(BCStyle.CN, cn).build();
    }

    private static X500Name nodeName(String cn, int id, String clusterId) {
        return new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, clusterId).addRDN(BCStyle.CN, cn)
            .addRDN(BCStyle.UID, Integer.toString(id)).build();
    }

    /** A new EC P-256 key pair (also for a move's keys: MoveKeys). */
    static KeyPair newKeyPair() throws GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
        return g.generateKeyPair();
    }

    static BigInteger serial() {
        return new BigInteger(127, RANDOM).add(BigInteger.ONE);
    }

    private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey signer) throws GeneralSecurityException {
        try {
            return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder(SIGNATURE).build(signer)));
        } catch (OperatorCreationException e) {
            throw new GeneralSecurityException(e);
        }
    }
}

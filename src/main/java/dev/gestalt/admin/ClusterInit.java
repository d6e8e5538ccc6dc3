package dev.gestalt.admin;

import dev.gestalt.files.FilesConfig;
import dev.gestalt.node.NodeConfig;
import dev.gestalt.process.remote.RemoteStartPolicy;
import dev.gestalt.security.ClusterCa;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code gestalt init}: the administration of a cluster's credentials, in one folder on an admin
 * machine ({@code DIR/ca/} holds the CA; {@code DIR/NAME/} goes to {@code /etc/gestalt/} on
 * machine NAME).
 * <ul>
 *   <li>{@code --nodes LIST}: a CA (if none yet) and, per new node, credentials (its name and id
 *       bound in its certificate), {@code node.conf} and a systemd unit; {@code --remote-root}
 *       lets other nodes start processes as root on these nodes (refused by default);</li>
 *   <li>{@code --revoke NODE}: revokes the node's certificates and copies the new revocation list
 *       into every node folder (nodes read it when it changes);</li>
 *   <li>{@code --renew}: new keys and certificates ({@link ClusterCa#NODE_VALIDITY}) for the nodes
 *       of the folder, same names and ids (nodes use them from their next connection on).</li>
 * </ul>
 */
public final class ClusterInit {

    public static final int GOSSIP_PORT = 7800;
    public static final int RPC_PORT = 7900;

    private ClusterInit() {}

    /** {@code --nodes}: creates the CA if needed and the folders of the nodes not there yet. */
    public static int create(Path dir, String nodeList, String cluster, boolean remoteRoot, PrintStream out,
            PrintStream err) throws Exception {
        Map<String, String> nodes = new LinkedHashMap<>();
        for (String item : nodeList.split(",")) {
            item = item.trim();
            if (item.isEmpty()) {
                continue;
            }
            int eq = item.indexOf('=');
            String name = eq < 0 ? item : item.substring(0, eq);
            String addr = eq < 0 ? name : item.substring(eq + 1);
            if (!name.matches("[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")) {
                err.println("gestalt init: bad node name '" + name + "' (letters, digits, . _ -)");
                return 2;
            }
            if (nodes.put(name, addr) != null) {
                err.println("gestalt init: node '" + name + "' given twice");
                return 2;
            }
        }
        if (nodes.isEmpty()) {
            err.println("gestalt init: --nodes names no node");
            return 2;
        }
        ClusterCa ca = ClusterCa.loadOrCreate(dir.resolve("ca"));
        List<InetSocketAddress> seeds = new ArrayList<>();
        for (String addr : nodes.values()) {
            seeds.add(InetSocketAddress.createUnresolved(addr, GOSSIP_PORT));
        }
        RemoteStartPolicy remote = RemoteStartPolicy.parse(remoteRoot ? "all" : "nonroot");
        for (var e : nodes.entrySet()) {
            Path nodeDir = dir.resolve(e.getKey());
            if (Files.exists(nodeDir.resolve("node.conf"))) {
                out.println("kept " + nodeDir + " (exists)");
                continue;
            }
            if (ca.isRevoked(e.getKey())) {
                err.println("gestalt init: node '" + e.getKey() + "' was revoked; give the new machine a new name");
                return 1;
            }
            Files.createDirectories(nodeDir);
            int id = ca.idFor(e.getKey());
            ca.issueNode(e.getKey(), id, List.of(e.getValue(), e.getKey()), nodeDir.resolve("credentials"));
            var cfg = new NodeConfig(cluster, e.getKey(), id, Path.of("/var/lib/gestalt/node"),
                Path.of("/run/gestalt/node.sock"), e.getValue(), GOSSIP_PORT, RPC_PORT, seeds,
                Path.of("/etc/gestalt/credentials")).withRemoteUids(remote)
                .withFiles(FilesConfig.moosefs(List.copyOf(nodes.keySet())));
            Files.writeString(nodeDir.resolve("node.conf"), cfg.render());
            Files.writeString(nodeDir.resolve("gestalt-node.service"), SystemdUnit.text(SystemdUnit.javaHere()));
        }
        out.println("Created cluster '" + cluster + "' (CA in " + dir.resolve("ca") + ", keep ca.key offline) and "
            + nodes.size() + " node folders in " + dir + ".");
        out.println(remoteRoot ? "Other nodes may start processes as root on these nodes (--remote-root)."
            : "Other nodes may not start processes as root on these nodes (remote_uids = nonroot; see --remote-root).");
        out.println("Certificates are valid for " + ClusterCa.NODE_VALIDITY.toDays()
            + " days: renew them with 'gestalt init --dir " + dir + " --renew'.");
        out.println("On each machine NAME, as root, with Gestalt built in /opt/gestalt:");
        out.println("  install -d -m 700 /etc/gestalt && cp -r " + dir + "/NAME/. /etc/gestalt/");
        out.println("  cp /etc/gestalt/gestalt-node.service /etc/systemd/system/ && systemctl enable --now gestalt-node");
        out.println("Open TCP " + GOSSIP_PORT + " (membership), " + RPC_PORT + " (RPC) and " + FilesConfig.DEFAULT_PORT + "-"
            + (FilesConfig.DEFAULT_PORT + 3) + " (file space) between the nodes, and no further.");
        return 0;
    }

    /** {@code --revoke NODE}: revokes the node's certificates and hands the new list to every node folder. */
    public static int revoke(Path dir, String node, PrintStream out, PrintStream err) throws Exception {
        ClusterCa ca = loadCa(dir, err);
        if (ca == null) {
            return 1;
        }
        if (!ca.nodes().containsKey(node)) {
            err.println("gestalt init: this CA never issued a certificate for node '" + node + "'");
            return 1;
        }
        int n = ca.revoke(node);
        List<Path> copies = new ArrayList<>();
        for (String name : ca.nodes().keySet()) {
            Path creds = dir.resolve(name).resolve("credentials");
            if (Files.isDirectory(creds)) {
                Files.copy(ca.crlFile(), creds.resolve("crl.pem"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                copies.add(creds.resolve("crl.pem"));
            }
        }
        out.println(n == 0 ? "Node '" + node + "' was revoked already; the revocation list is " + ca.crlFile() + "."
            : "Revoked " + n + " certificate(s) of node '" + node + "'; the revocation list is " + ca.crlFile() + ".");
        out.println("Copy it to /etc/gestalt/credentials/crl.pem on every machine (" + copies.size()
            + " node folders here have it already): each node reads it within seconds and refuses " + node
            + " from then on, on new and open connections alike.");
        return 0;
    }

    /** {@code --renew [--nodes LIST]}: new credentials for the nodes of {@code dir} (all, or those named). */
    public static int renew(Path dir, String only, PrintStream out, PrintStream err) throws Exception {
        ClusterCa ca = loadCa(dir, err);
        if (ca == null) {
            return 1;
        }
        List<String> wanted = new ArrayList<>();
        if (only != null) {
            for (String s : only.split(",")) {
                if (!s.isBlank()) {
                    wanted.add(s.strip().replaceFirst("=.*", ""));
                }
            }
        } else {
            try (var children = Files.list(dir)) {
                children.filter(c -> Files.exists(c.resolve("node.conf"))).map(c -> c.getFileName().toString())
                    .sorted().forEach(wanted::add);
            }
        }
        int renewed = 0;
        for (String name : wanted) {
            Path conf = dir.resolve(name).resolve("node.conf");
            if (!Files.exists(conf)) {
                if (only != null) {
                    err.println("gestalt init: no node folder " + dir.resolve(name));
                    return 1;
                }
                continue;
            }
            if (ca.isRevoked(name)) {
                out.println("skipped " + name + " (revoked)");
                continue;
            }
            NodeConfig cfg = NodeConfig.load(conf);
            ca.issueNode(cfg.name(), cfg.id(), List.of(cfg.bind(), cfg.name()), dir.resolve(name).resolve("credentials"));
            renewed++;
        }
        Instant until = Instant.now().plus(ClusterCa.NODE_VALIDITY).truncatedTo(ChronoUnit.DAYS);
        out.println("Renewed the credentials of " + renewed + " node(s), valid until about " + until + ".");
        out.println("Copy DIR/NAME/credentials/ to /etc/gestalt/credentials/ on each machine NAME: a running node uses"
            + " them from its next connection on, without a restart.");
        return 0;
    }

    private static ClusterCa loadCa(Path dir, PrintStream err) throws IOException, GeneralSecurityException {
        if (!Files.exists(dir.resolve("ca").resolve("ca.crt"))) {
            err.println("gestalt init: no cluster CA in " + dir.resolve("ca") + " (create one with --nodes)");
            return null;
        }
        return ClusterCa.load(dir.resolve("ca"));
    }
}

package dev.gestalt.admin;

import dev.gestalt.files.FilesConfig;
import dev.gestalt.node.NodeConfig;
import dev.gestalt.security.ClusterCa;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code gestalt init}: a cluster CA and, per node, credentials, a config
 * file and a systemd unit, in folders ready to copy to each machine
 * ({@code DIR/NAME/} goes to {@code /etc/gestalt/} on machine NAME).
 */
public final class ClusterInit {

    public static final int GOSSIP_PORT = 7800;
    public static final int RPC_PORT = 7900;

    private ClusterInit() {}

    public static int run(Path dir, String nodeList, String cluster, PrintStream out, PrintStream err) throws Exception {
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
        int id = 1;
        for (var e : nodes.entrySet()) {
            Path nodeDir = dir.resolve(e.getKey());
            if (Files.exists(nodeDir.resolve("node.conf"))) {
                out.println("kept " + nodeDir + " (exists)");
                id++;
                continue;
            }
            Files.createDirectories(nodeDir);
            ca.issueNode(e.getKey(), List.of(e.getValue(), e.getKey()), nodeDir.resolve("credentials"));
            var cfg = new NodeConfig(cluster, e.getKey(), id++, Path.of("/var/lib/gestalt/node"),
                Path.of("/run/gestalt/node.sock"), e.getValue(), GOSSIP_PORT, RPC_PORT, seeds,
                Path.of("/etc/gestalt/credentials")).withFiles(FilesConfig.moosefs(List.copyOf(nodes.keySet())));
            Files.writeString(nodeDir.resolve("node.conf"), cfg.render());
            Files.writeString(nodeDir.resolve("gestalt-node.service"), unit());
        }
        out.println("Created cluster '" + cluster + "' (CA in " + dir.resolve("ca") + ", keep ca.key offline) and "
            + nodes.size() + " node folders in " + dir + ".");
        out.println("On each machine NAME, as root:");
        out.println("  install -d -m 700 /etc/gestalt && cp -r " + dir + "/NAME/. /etc/gestalt/");
        out.println("  cp /etc/gestalt/gestalt-node.service /etc/systemd/system/ && systemctl enable --now gestalt-node");
        out.println("Open TCP " + GOSSIP_PORT + " (membership), " + RPC_PORT + " (RPC) and " + FilesConfig.DEFAULT_PORT + "-"
            + (FilesConfig.DEFAULT_PORT + 3) + " (file space) between the nodes, and no further.");
        return 0;
    }

    static String unit() {
        return """
            [Unit]
            Description=Gestalt node daemon
            After=network-online.target
            Wants=network-online.target

            [Service]
            ExecStart=/opt/gestalt/gestalt node --config /etc/gestalt/node.conf
            KillMode=mixed
            TimeoutStopSec=15
            Restart=on-failure
            RuntimeDirectory=gestalt
            RuntimeDirectoryPreserve=yes

            [Install]
            WantedBy=multi-user.target
            """;
    }
}

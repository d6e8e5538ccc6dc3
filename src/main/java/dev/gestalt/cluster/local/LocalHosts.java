package dev.gestalt.cluster.local;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * The "hosts" of a root local cluster: each node in a network namespace of its own with an
 * address this class creates (10.A.B.i, A.B from the cluster folder's digest), all joined by a
 * bridge in one more namespace, as separate machines on one switch would be; and each node
 * in a mount namespace of its own whose root is a fresh tmpfs holding the host's top-level
 * folders bind-mounted, plus the file space's mount point and the node's own /etc/hosts.
 * So a node's mounts (its /gestalt) are its own, the mount point does not exist in the
 * host's view, and a file reaches another node only through the file space. Namespace and
 * interface names start with a prefix made from the cluster folder, so clusters started at
 * the same time never collide. Nothing here touches the host's own network or mounts.
 */
final class LocalHosts {

    /** Runs inside the node's new mount namespace, then execs the daemon (sh -c SCRIPT sh NODE_DIR MOUNT CMD...). */
    static final String ROOT_SCRIPT = """
        set -e
        node=$1; mnt=$2; shift 2
        wd=$(pwd)
        root=$node/root
        mkdir -p "$root"
        mount -t tmpfs -o mode=755 gestalt-node-root "$root"
        for e in /*; do
          n=${e#/}
          if [ -L "$e" ]; then cp -P "$e" "$root/$n"
          elif [ -d "$e" ]; then mkdir "$root/$n"; mount --rbind "$e" "$root/$n"
          elif [ -e "$e" ]; then : > "$root/$n"; mount --bind "$e" "$root/$n"
          fi
        done
        cp /etc/hosts "$node/hosts"
        mount --bind "$node/hosts" "$root/etc/hosts"
        mkdir -p "$root$mnt"
        mkdir "$root/.old-root"
        pivot_root "$root" "$root/.old-root"
        cd /
        umount -l /.old-root
        rmdir /.old-root
        umount -l "$root" 2>/dev/null || true
        # the host's named network namespaces are not the node's business; copies of their
        # mounts here would keep 'ip netns del' on the host from removing them
        umount -l /run/netns 2>/dev/null || for f in /run/netns/*; do umount -l "$f" 2>/dev/null; done || true
        # shared, as systemd makes a host's /: what the node mounts later (its /gestalt, again after
        # a restart of its daemon) reaches the jobs already running, whose mounts are its slaves
        mount --make-rshared /
        cd "$wd" 2>/dev/null || cd /
        exec "$@"
        """;

    private final LocalLayout layout;
    private final String prefix;
    private final String subnet;

    LocalHosts(LocalLayout layout) {
        this.layout = layout;
        byte[] h = digest(layout.dir().toAbsolutePath().toString());
        this.prefix = "g" + HexFormat.of().formatHex(h, 0, 3);
        this.subnet = "10." + (100 + (h[3] & 0xff) % 100) + "." + (h[4] & 0xff) + ".";
    }

    String address(int i) {
        return subnet + i;
    }

    String netns(int i) {
        return prefix + "-n" + i;
    }

    private String hub() {
        return prefix + "-hub";
    }

    /** Creates what is missing of the hub and of nodes 1..n (a name whose namespace is gone is made anew). */
    void ensure(int n) throws IOException, InterruptedException {
        List<String> existing = new ArrayList<>(namespaces());
        existing.removeIf(ns -> !alive(ns));
        if (!existing.contains(hub())) {
            ip("netns", "add", hub());
            ip("-n", hub(), "link", "add", "br0", "type", "bridge");
            ip("-n", hub(), "link", "set", "br0", "up");
        }
        for (int i = 1; i <= n; i++) {
            if (existing.contains(netns(i))) {
                continue;
            }
            String ns = netns(i);
            String inside = prefix + "v" + i;
            String outside = prefix + "h" + i;
            ip("netns", "add", ns);
            // TCP over the veth: BBR (some hosts' default, which a new namespace inherits) paces
            // CRIU's page server into 50 ms stalls on these virtual links (post-copy memory
            // filled at half the speed: BENCHMARKS.md); reno does not
            ip("netns", "exec", ns, "sysctl", "-qw", "net.ipv4.tcp_congestion_control=reno");
            ip("link", "add", inside, "netns", ns, "type", "veth", "peer", "name", outside, "netns", hub());
            ip("-n", ns, "addr", "add", address(i) + "/24", "dev", inside);
            ip("-n", ns, "link", "set", inside, "up");
            ip("-n", ns, "link", "set", "lo", "up");
            ip("-n", hub(), "link", "set", outside, "master", "br0");
            ip("-n", hub(), "link", "set", outside, "up");
        }
    }

    /**
     * Deletes the namespaces of nodes 1..n and the hub, once the daemons are stopped: whatever
     * still runs on a node's host (engines or jobs a crashed daemon left behind) is killed first.
     */
    void remove(int n) {
        for (int i = 1; i <= n; i++) {
            killAll(netns(i));
            quietly(netns(i));
        }
        quietly(hub());
    }

    private static void killAll(String ns) {
        try {
            Process p = new ProcessBuilder("ip", "netns", "pids", ns).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor();
            for (String line : out.split("\n")) {
                if (line.strip().matches("\\d+")) {
                    ProcessHandle.of(Long.parseLong(line.strip())).ifPresent(h -> {
                        h.destroyForcibly();
                        h.onExit().orTimeout(5, java.util.concurrent.TimeUnit.SECONDS).exceptionally(e -> h).join();
                    });
                }
            }
        } catch (IOException | InterruptedException e) {
            // no such namespace
        }
    }

    private void quietly(String ns) {
        try {
            ip("netns", "del", ns);
        } catch (IOException | InterruptedException e) {
            // not there
        }
    }

    /**
     * The daemon's command wrapped so it runs on node i's host: its network, then a mount
     * namespace of its own; or, when the node's keeper still runs (a daemon that died left its
     * jobs to it), the keeper's mount namespace, which is that host's: the restarted daemon sees
     * the mounts its jobs see, as on a real machine.
     */
    List<String> wrap(int i, Path mount, Optional<Long> keeper, List<String> command) {
        List<String> out;
        if (keeper.isPresent()) {
            out = new ArrayList<>(List.of("nsenter", "--net=/run/netns/" + netns(i),
                "--mount=/proc/" + keeper.get() + "/ns/mnt", "--",
                "sh", "-c", "cd \"$1\" 2>/dev/null || cd /; shift; exec \"$@\"", "gestalt-node",
                Path.of("").toAbsolutePath().toString()));
        } else {
            out = new ArrayList<>(List.of("nsenter", "--net=/run/netns/" + netns(i), "--",
                "unshare", "--mount", "--propagation", "private", "--",
                "sh", "-c", ROOT_SCRIPT, "gestalt-node", layout.node(i).toAbsolutePath().toString(), mount.toString()));
        }
        out.addAll(command);
        return out;
    }

    /** Whether a name under /run/netns still holds a namespace; a stale name is removed. */
    private static boolean alive(String ns) {
        try {
            ip("-n", ns, "link", "show", "lo");
            return true;
        } catch (IOException | InterruptedException e) {
            try {
                ip("netns", "del", ns);
            } catch (IOException | InterruptedException gone) {
                // nothing left to remove
            }
            return false;
        }
    }

    private static List<String> namespaces() throws IOException {
        Path dir = Path.of("/run/netns");
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (var s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).toList();
        }
    }

    private static void ip(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add("ip");
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IOException(String.join(" ", cmd) + ": " + out.strip());
        }
    }

    private static byte[] digest(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}

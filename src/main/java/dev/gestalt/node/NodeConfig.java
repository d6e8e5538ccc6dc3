package dev.gestalt.node;

import dev.gestalt.files.FilesConfig;
import dev.gestalt.process.remote.RemoteStartPolicy;
import java.io.IOException;
import java.io.Reader;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/**
 * A node's configuration file ({@code key = value} lines, {@code #} comments).
 *
 * <pre>
 * cluster     = gestalt               # cluster name: nodes of other clusters are not seen
 * name        = node1                 # this node's name, unique in the cluster
 * id          = 1                     # this node's numeric id (stable, unique; first part of GPIDs)
 * state_dir   = /var/lib/gestalt/node # identity, logs of detached processes, GPID counter
 * socket      = /run/gestalt/node.sock  # the CLI's Unix socket
 * bind        = 10.0.0.1              # address for node-to-node traffic
 * gossip_port = 7800                  # JGroups (membership, gossip), TLS
 * rpc_port    = 7900                  # gRPC (process streams, queries), mutual TLS
 * seeds       = 10.0.0.1:7800,10.0.0.2:7800   # gossip addresses of some members
 * credentials = /etc/gestalt/credentials      # from 'gestalt init'
 * remote_uids = nonroot               # uids other nodes may start processes as here (nonroot, all, none, 1000-60000,...)
 * job_history = 24h                   # how long ended jobs stay on record (ps --all): s, m, h or d
 * balance     = on                    # move processes to less loaded nodes by itself (on, off)
 * incoming_moves = 4                  # moves into this node at once; one more is refused (1-256)
 * files.*     = ...                   # the file space: see {@link FilesConfig}
 * </pre>
 *
 * The name and id must be those of the node's certificate (the daemon refuses to start otherwise).
 * {@code remote_uids} is the execution node's own policy ({@link RemoteStartPolicy}); absent, it is
 * {@code nonroot}: root on another node is not root here.
 */
public record NodeConfig(String cluster, String name, int id, Path stateDir, Path socket, String bind,
                         int gossipPort, int rpcPort, List<InetSocketAddress> seeds, Path credentials,
                         RemoteStartPolicy remoteUids, FilesConfig files, Duration jobHistory, boolean balance,
                         int incomingMoves) {

    /** Moves a node takes at once unless its config says otherwise. */
    public static final int DEFAULT_INCOMING_MOVES = 4;
    private static final int MAX_INCOMING_MOVES = 256;

    /** A node that balances its load and takes {@value #DEFAULT_INCOMING_MOVES} moves at once (the defaults). */
    public NodeConfig(String cluster, String name, int id, Path stateDir, Path socket, String bind,
                      int gossipPort, int rpcPort, List<InetSocketAddress> seeds, Path credentials,
                      RemoteStartPolicy remoteUids, FilesConfig files, Duration jobHistory) {
        this(cluster, name, id, stateDir, socket, bind, gossipPort, rpcPort, seeds, credentials, remoteUids, files,
            jobHistory, true, DEFAULT_INCOMING_MOVES);
    }

    /** How long a node keeps the record of an ended job, unless its config says otherwise. */
    public static final Duration DEFAULT_JOB_HISTORY = dev.gestalt.process.supervisor.Supervisor.DEFAULT_HISTORY;

    /**
     * A node with the default remote start policy (nonroot), file space (MooseFS at /gestalt, this
     * node alone in its core) and job history.
     */
    public NodeConfig(String cluster, String name, int id, Path stateDir, Path socket, String bind,
                      int gossipPort, int rpcPort, List<InetSocketAddress> seeds, Path credentials) {
        this(cluster, name, id, stateDir, socket, bind, gossipPort, rpcPort, seeds, credentials,
            RemoteStartPolicy.NONROOT, FilesConfig.moosefs(List.of(name)), DEFAULT_JOB_HISTORY);
    }

    public NodeConfig withFiles(FilesConfig f) {
        return new NodeConfig(cluster, name, id, stateDir, socket, bind, gossipPort, rpcPort, seeds, credentials, remoteUids, f,
            jobHistory, balance, incomingMoves);
    }

    /** This configuration with another remote start policy. */
    public NodeConfig withRemoteUids(RemoteStartPolicy policy) {
        return new NodeConfig(cluster, name, id, stateDir, socket, bind, gossipPort, rpcPort, seeds, credentials, policy, files,
            jobHistory, balance, incomingMoves);
    }

    /** This configuration with other seeds. */
    public NodeConfig withSeeds(List<InetSocketAddress> newSeeds) {
        return new NodeConfig(cluster, name, id, stateDir, socket, bind, gossipPort, rpcPort, newSeeds, credentials, remoteUids,
            files, jobHistory, balance, incomingMoves);
    }

    public static NodeConfig load(Path file) throws IOException {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file)) {
            p.load(r);
        }
        Path base = file.toAbsolutePath().getParent();
        String name = required(p, "name", file);
        FilesConfig files;
        try {
            files = FilesConfig.load(p, name);
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage());
        }
        return new NodeConfig(
            p.getProperty("cluster", "gestalt").trim(),
            name,
            intValue(p, "id", file),
            base.resolve(p.getProperty("state_dir", "state").trim()),
            base.resolve(p.getProperty("socket", "node.sock").trim()),
            p.getProperty("bind", "127.0.0.1").trim(),
            intValue(p, "gossip_port", file),
            intValue(p, "rpc_port", file),
            seeds(p.getProperty("seeds", ""), file),
            base.resolve(p.getProperty("credentials", "credentials").trim()),
            remoteUids(p.getProperty("remote_uids", RemoteStartPolicy.NONROOT.toString()), file),
            files,
            duration(p, "job_history", DEFAULT_JOB_HISTORY, file),
            onOff(p, "balance", true, file),
            count(p, "incoming_moves", DEFAULT_INCOMING_MOVES, MAX_INCOMING_MOVES, file));
    }

    private static boolean onOff(Properties p, String key, boolean fallback, Path file) throws IOException {
        String v = p.getProperty(key);
        if (v == null || v.isBlank()) {
            return fallback;
        }
        return switch (v.trim()) {
            case "on", "true", "yes" -> true;
            case "off", "false", "no" -> false;
            default -> throw new IOException(file + ": '" + key + "' must be on or off, not '" + v.trim() + "'");
        };
    }

    private static int count(Properties p, String key, int fallback, int max, Path file) throws IOException {
        String v = p.getProperty(key);
        if (v == null || v.isBlank()) {
            return fallback;
        }
        try {
            int n = Integer.parseInt(v.trim());
            if (n >= 1 && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw new IOException(file + ": '" + key + "' must be a number from 1 to " + max + ", not '" + v.trim() + "'");
    }

    private static RemoteStartPolicy remoteUids(String v, Path file) throws IOException {
        try {
            return RemoteStartPolicy.parse(v);
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage());
        }
    }

    /** A duration written as a number and a unit (s, m, h, d), e.g. {@code 90m} or {@code 7d}. */
    private static Duration duration(Properties p, String key, Duration fallback, Path file) throws IOException {
        String v = p.getProperty(key);
        if (v == null || v.isBlank()) {
            return fallback;
        }
        v = v.trim();
        try {
            long n = Long.parseLong(v.substring(0, v.length() - 1));
            Duration d = switch (v.charAt(v.length() - 1)) {
                case 's' -> Duration.ofSeconds(n);
                case 'm' -> Duration.ofMinutes(n);
                case 'h' -> Duration.ofHours(n);
                case 'd' -> Duration.ofDays(n);
                default -> throw new NumberFormatException();
            };
            if (n < 0) {
                throw new NumberFormatException();
            }
            return d;
        } catch (RuntimeException e) {
            throw new IOException(file + ": '" + key + "' must be a number and a unit (s, m, h, d), not '" + v + "'");
        }
    }

    private static String render(Duration d) {
        long s = d.toSeconds();
        return s % 86400 == 0 ? s / 86400 + "d" : s % 3600 == 0 ? s / 3600 + "h" : s % 60 == 0 ? s / 60 + "m" : s + "s";
    }

    /** The text of a config file for these values, as {@code load} reads it. */
    public String render() {
        StringBuilder seedText = new StringBuilder();
        for (InetSocketAddress s : seeds) {
            seedText.append(seedText.isEmpty() ? "" : ",").append(s.getHostString()).append(':').append(s.getPort());
        }
        return "# Gestalt node configuration (see 'gestalt node --help')\n"
            + "cluster = " + cluster + "\n"
            + "name = " + name + "\n"
            + "id = " + id + "\n"
            + "state_dir = " + stateDir + "\n"
            + "socket = " + socket + "\n"
            + "bind = " + bind + "\n"
            + "gossip_port = " + gossipPort + "\n"
            + "rpc_port = " + rpcPort + "\n"
            + "seeds = " + seedText + "\n"
            + "credentials = " + credentials + "\n"
            + "# Which uids other nodes may start processes as on this node: nonroot (every uid but root),\n"
            + "# all (root too), none, or uids and ranges (1000-60000,70000). This node's own CLI is not limited.\n"
            + "remote_uids = " + remoteUids + "\n"
            + "job_history = " + render(jobHistory) + "\n"
            + "# Move processes from this node to a less loaded one by itself (MOSIX's load balancing): on, off\n"
            + "balance = " + (balance ? "on" : "off") + "\n"
            + "# Moves into this node at once (each holds the process's memory on this disk until restored);\n"
            + "# one more is refused, and the process runs on where it was: 1 to " + MAX_INCOMING_MOVES + "\n"
            + "incoming_moves = " + incomingMoves + "\n"
            + files.render();
    }

    private static String required(Properties p, String key, Path file) throws IOException {
        String v = p.getProperty(key);
        if (v == null || v.isBlank()) {
            throw new IOException(file + ": missing '" + key + "'");
        }
        return v.trim();
    }

    private static int intValue(Properties p, String key, Path file) throws IOException {
        String v = required(p, key, file);
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IOException(file + ": '" + key + "' must be a number, not '" + v + "'");
        }
    }

    private static List<InetSocketAddress> seeds(String text, Path file) throws IOException {
        List<InetSocketAddress> out = new ArrayList<>();
        for (String s : text.split(",")) {
            s = s.trim();
            if (s.isEmpty()) {
                continue;
            }
            int colon = s.lastIndexOf(':');
            if (colon <= 0) {
                throw new IOException(file + ": seed '" + s + "' must be HOST:PORT");
            }
            try {
                out.add(new InetSocketAddress(s.substring(0, colon), Integer.parseInt(s.substring(colon + 1))));
            } catch (NumberFormatException e) {
                throw new IOException(file + ": seed '" + s + "' has a bad port");
            }
        }
        return out;
    }
}

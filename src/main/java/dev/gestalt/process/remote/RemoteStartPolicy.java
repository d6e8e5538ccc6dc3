package dev.gestalt.process.remote;

import dev.gestalt.rpc.GestaltException;
import dev.gestalt.rpc.proto.ProcessSpec;
import dev.gestalt.security.GrpcTls;
import dev.gestalt.security.PeerIdentity;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Logger;

/**
 * Which uids other nodes may start processes as on this node: the execution node's own policy
 * ({@code remote_uids} in node.conf), so that one stolen node key is not root on every node (as
 * Slurm's {@code DisableRootJobs} and Kubernetes' NodeRestriction limit what a node may ask).
 *
 * <p>Values: {@code nonroot} (every uid but 0: the default, and what {@code gestalt init} writes
 * unless given {@code --remote-root}), {@code all} (root too: {@code cluster up} writes it for a
 * local cluster, one machine and one admin), {@code none}, or a list of uids and ranges
 * ({@code 1000-60000,70000}). A process started by this node's own CLI (the home node is this
 * node) is not a remote start: its uid came from the kernel here.
 *
 * <p>Every remote start is checked and logged with the home node's identity <em>from its TLS
 * certificate</em>: the home node named in the request and the home part of the GPID must be that
 * node, or the start is refused. A refused start ends with code 255 and the reason.
 */
public final class RemoteStartPolicy {

    private static final Logger LOG = Logger.getLogger(RemoteStartPolicy.class.getName());

    private final String text;
    private final boolean rootAllowed;
    private final List<long[]> ranges;

    private RemoteStartPolicy(String text, boolean rootAllowed, List<long[]> ranges) {
        this.text = text;
        this.rootAllowed = rootAllowed;
        this.ranges = ranges;
    }

    /** The default: every uid but root. */
    public static final RemoteStartPolicy NONROOT = parse("nonroot");

    /** Parses a {@code remote_uids} value; throws IllegalArgumentException with a one-line reason. */
    public static RemoteStartPolicy parse(String value) {
        String v = value.strip();
        switch (v) {
            case "nonroot" -> {
                return new RemoteStartPolicy(v, false, List.of(new long[] {1, 0xFFFF_FFFEL}));
            }
            case "all" -> {
                return new RemoteStartPolicy(v, true, List.of(new long[] {0, 0xFFFF_FFFEL}));
            }
            case "none" -> {
                return new RemoteStartPolicy(v, false, List.of());
            }
            default -> {
                List<long[]> out = new ArrayList<>();
                for (String part : v.split(",")) {
                    String p = part.strip();
                    try {
                        int dash = p.indexOf('-');
                        long lo = Long.parseLong(dash < 0 ? p : p.substring(0, dash).strip());
                        long hi = dash < 0 ? lo : Long.parseLong(p.substring(dash + 1).strip());
                        if (lo < 0 || hi < lo || hi > 0xFFFF_FFFEL) {
                            throw new NumberFormatException();
                        }
                        out.add(new long[] {lo, hi});
                    } catch (NumberFormatException e) {
                        throw new IllegalArgumentException("remote_uids must be nonroot, all, none or uids and ranges "
                            + "(1000-60000,70000), not '" + value + "'");
                    }
                }
                boolean root = out.stream().anyMatch(r -> r[0] == 0);
                return new RemoteStartPolicy(v, root, List.copyOf(out));
            }
        }
    }

    /** Whether a remote home node may start a process as {@code uid}. */
    public boolean allows(long uid) {
        if (uid == 0) {
            return rootAllowed;
        }
        return ranges.stream().anyMatch(r -> r[0] <= uid && uid <= r[1]);
    }

    /**
     * Checks a start request against the caller of the current gRPC call and logs a remote start.
     *
     * @param node this node's name
     * @throws GestaltException.PermissionDenied with the reason, when the start is refused
     */
    public void check(String node, ProcessSpec spec) throws GestaltException.PermissionDenied {
        if (Boolean.TRUE.equals(GrpcTls.SAME_NODE.get())) {
            return; // this node's own CLI: the uid came from the kernel here
        }
        PeerIdentity home = GrpcTls.PEER.get();
        long uid = spec.getCaller().getUid() & 0xFFFF_FFFFL;
        String gpid = spec.getGpid();
        String why = null;
        if (home == null) {
            why = "the caller presented no node certificate";
        } else if (!home.nodeName().equals(spec.getHomeNode())) {
            why = "the request names home node " + spec.getHomeNode() + " but comes from " + home.describe();
        } else if (!gpid.startsWith(home.nodeId() + "-")) {
            why = "GPID " + gpid + " is not one " + home.describe() + " may hand out";
        } else if (!allows(uid)) {
            why = "this node does not run processes of other nodes as uid " + uid
                + (uid == 0 ? " (root; remote_uids = " + text + " in node.conf)" : " (remote_uids = " + text + ")");
        }
        String from = home == null ? "an unknown caller" : home.describe();
        if (why != null) {
            LOG.warning("refused remote start of " + gpid + " as uid " + uid + " from " + from + ": " + why);
            throw new GestaltException.PermissionDenied("refused by " + node + ": " + why);
        }
        LOG.info("remote start of " + gpid + " as uid " + uid + " (" + spec.getCaller().getUser() + ") from home node "
            + from);
    }

    @Override
    public String toString() {
        return text;
    }
}

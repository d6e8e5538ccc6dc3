package dev.gestalt.files;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;

/**
 * The Raft leader's rule for the MooseFS roles, a pure function of the replicated state and
 * the current view (so it is tested without a cluster):
 * <ul>
 *   <li>no master yet: the leader itself (it is in a majority, or it would not lead);</li>
 *   <li>the master out of the view for longer than the grace period: the first live
 *       metalogger, whose copy of the metadata becomes the new master's (never a node
 *       without a copy: with no live metalogger the file space waits for its master);</li>
 *   <li>metaloggers: the live ones are kept in order; missing ones are replaced by live
 *       nodes that are neither master nor metalogger, up to {@link #METALOGGERS}.</li>
 * </ul>
 * The grace period lets a master cut off in a minority notice first and stop serving
 * (it sees the same failure detector fire), so two masters never serve at once.
 */
public final class MasterPlacement {

    /** Metaloggers wanted (fewer when the cluster has fewer other nodes). */
    public static final int METALOGGERS = 2;

    private MasterPlacement() {}

    /**
     * @param state the replicated state
     * @param leader this node (the Raft leader)
     * @param live nodes in the current view, in view order
     * @param masterAbsentMillis how long the master has been out of the view (0 if it is in it)
     * @param graceMillis how long the master may be absent before a successor is appointed
     * @return the next state, or {@code null} if nothing is to change
     */
    public static FileSpaceState decide(FileSpaceState state, String leader, List<String> live,
                                        long masterAbsentMillis, long graceMillis) {
        Set<String> alive = Set.copyOf(live);
        String secret = state.secret().isEmpty() ? newSecret() : state.secret();
        String master = state.master();
        List<String> metaloggers = new ArrayList<>(state.metaloggers());
        if (master.isEmpty()) {
            master = leader;
        } else if (!alive.contains(master)) {
            if (masterAbsentMillis < graceMillis) {
                return null;
            }
            String successor = metaloggers.stream().filter(alive::contains).findFirst().orElse(null);
            if (successor == null) {
                return null;
            }
            master = successor;
        }
        final String m = master;
        metaloggers.removeIf(n -> n.equals(m) || !alive.contains(n));
        for (String n : live) {
            if (metaloggers.size() >= METALOGGERS) {
                break;
            }
            if (!n.equals(m) && !metaloggers.contains(n)) {
                metaloggers.add(n);
            }
        }
        if (m.equals(state.master()) && metaloggers.equals(state.metaloggers()) && secret.equals(state.secret())) {
            return null;
        }
        return state.next(m, metaloggers, secret);
    }

    private static String newSecret() {
        byte[] b = new byte[24];
        new SecureRandom().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }
}

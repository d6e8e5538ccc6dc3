package dev.gestalt.process.placement;

import dev.gestalt.rpc.GestaltException;
import java.util.List;

/**
 * Chooses an execution node. Any node decides for the processes it is home
 * to, from its own copy of the gossiped load table: there is no central
 * scheduler. Implementations must be fast (called per process) and
 * thread-safe.
 */
public interface PlacementPolicy {
    Placement place(PlacementRequest request, List<NodeLoad> live, InFlight inFlight)
        throws GestaltException.NoEligibleNode;
}

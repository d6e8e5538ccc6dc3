package dev.gestalt.process;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The home node's record of where it placed each process it allocated a GPID for (MOSIX's
 * home-node model): one GPID is found by asking its home node (the GPID names it: HOME-SEQ)
 * and then the execution node, never by listing the whole cluster.
 *
 * <p>Bounded: a process's record goes when its client got its end (attached processes) or,
 * for detached ones, when {@link #CAPACITY} newer ones pushed it out; a GPID with no record
 * here is looked up by a cluster-wide listing filtered to it (see {@link ProcessQueries}), as
 * is every GPID of a home node that is down or restarted (the record is in memory only).
 */
public final class Placements {

    /** Records kept (~60 bytes each): the oldest detached ones go first. */
    static final int CAPACITY = 100_000;

    private final int capacity;
    /** Sequence number of a GPID of this home node -> execution node name, oldest first. */
    private final LinkedHashMap<Long, String> bySeq;

    public Placements() {
        this(CAPACITY);
    }

    Placements(int capacity) {
        this.capacity = capacity;
        this.bySeq = new LinkedHashMap<>(16, 0.75f, false) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Long, String> eldest) {
                return size() > Placements.this.capacity;
            }
        };
    }

    /** The process {@code gpid} (of this home node) runs on {@code node}. */
    public synchronized void placed(Gpid gpid, String node) {
        bySeq.put(gpid.seq(), node.intern());
    }

    /** The process ended and its client knows: nobody will ask for it again. */
    public synchronized void forget(Gpid gpid) {
        bySeq.remove(gpid.seq());
    }

    /** Where the process with this sequence number was placed, or null. */
    public synchronized String node(long seq) {
        return bySeq.get(seq);
    }

    synchronized int size() {
        return bySeq.size();
    }
}

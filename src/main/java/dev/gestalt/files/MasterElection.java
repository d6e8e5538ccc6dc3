package dev.gestalt.files;

import dev.gestalt.cluster.ChannelAddOn;
import java.io.DataInput;
import java.io.DataOutput;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.logging.Logger;
import org.jgroups.JChannel;
import org.jgroups.protocols.raft.ELECTION;
import org.jgroups.protocols.raft.FileBasedLog;
import org.jgroups.protocols.raft.RAFT;
import org.jgroups.protocols.raft.REDIRECT;
import org.jgroups.raft.RaftHandle;
import org.jgroups.raft.StateMachine;
import org.jgroups.stack.Protocol;

/**
 * The file space's {@link FileSpaceState}, replicated by jgroups-raft on the node's own
 * channel (ELECTION, RAFT and REDIRECT on top of the stack). The Raft members are the
 * configured core nodes; only a side of a partition that holds a majority of them can elect a
 * leader and commit a change, so a master is appointed by one decision of a majority, never
 * twice. The log lives in the node's state folder and survives restarts: a node that comes
 * back learns what was decided while it was away before it acts.
 */
public final class MasterElection implements ChannelAddOn, StateMachine {

    private static final Logger LOG = Logger.getLogger(MasterElection.class.getName());

    private final String self;
    private final List<String> core;
    private final Path logDir;
    private final Consumer<FileSpaceState> onChange;
    private volatile FileSpaceState state = FileSpaceState.EMPTY;
    private RaftHandle raft;

    public MasterElection(String self, List<String> core, Path logDir, Consumer<FileSpaceState> onChange) {
        this.self = self;
        this.core = List.copyOf(core);
        this.logDir = logDir;
        this.onChange = onChange;
    }

    @Override
    public List<Protocol> protocols() {
        try {
            // the log holds the engine's secret: root only
            Files.createDirectories(logDir);
            Files.setPosixFilePermissions(logDir, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return List.of(new ELECTION(),
            new RAFT().raftId(self).members(core).logClass(FileBasedLog.class.getName())
                .logDir(logDir.toString()).logPrefix("files-" + self),
            new REDIRECT());
    }

    @Override
    public void attach(JChannel channel) {
        raft = new RaftHandle(channel, this);
    }

    public FileSpaceState state() {
        return state;
    }

    public boolean isLeader() {
        return raft != null && raft.isLeader();
    }

    /**
     * How long a follower must have followed the same leader, with nothing appended but not yet
     * committed, before its state counts as the cluster's: a restarted node replays its own log
     * first, which may name it master from before its death (seen: it started a stale master and
     * its mount read I/O errors from it), and the leader's entries reach it only after it joined.
     */
    static final long CATCH_UP_NANOS = TimeUnit.SECONDS.toNanos(3);
    private Object followed;
    private long followingSince;

    /**
     * Whether this node's state is the cluster's current one, to act on: it is the Raft leader
     * (Raft elects only a node whose log holds every committed entry), or it has followed one
     * leader for {@link #CATCH_UP_NANOS} and applied all it received. Called by one thread.
     */
    public boolean current() {
        if (raft == null) {
            return false;
        }
        if (raft.isLeader()) {
            return true;
        }
        var leader = raft.leader();
        if (leader == null || !leader.equals(followed)) {
            followed = leader;
            followingSince = System.nanoTime();
            return false;
        }
        RAFT r = raft.raft();
        return System.nanoTime() - followingSince >= CATCH_UP_NANOS && r.commitIndex() >= r.lastAppended();
    }

    /** Proposes a change computed from {@code from}; true if it was committed (it may still be dropped as stale). */
    public boolean propose(FileSpaceState from, FileSpaceState to) {
        byte[] change = FileSpaceState.encodeChange(from.version(), to);
        try {
            raft.setAsync(change, 0, change.length, null).get(5, TimeUnit.SECONDS);
            return true;
        } catch (Exception e) {
            LOG.info("file space: proposal " + to + " not committed: " + e);
            return false;
        }
    }

    @Override
    public byte[] apply(byte[] data, int offset, int length, boolean serializeResponse) throws Exception {
        FileSpaceState before = state;
        FileSpaceState after = FileSpaceState.applyChange(before, data, offset, length);
        if (after != before) {
            state = after;
            onChange.accept(after);
        }
        return null;
    }

    @Override
    public void readContentFrom(DataInput in) throws Exception {
        state = FileSpaceState.read(in);
        onChange.accept(state);
    }

    @Override
    public void writeContentTo(DataOutput out) throws Exception {
        state.write(out);
    }
}

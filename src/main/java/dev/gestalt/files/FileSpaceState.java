package dev.gestalt.files;

import java.io.ByteArrayOutputStream;
import java.io.DataInput;
import java.io.DataInputStream;
import java.io.DataOutput;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.ByteArrayInputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * What the cluster decided about its MooseFS, replicated by Raft: which node is master, which
 * nodes keep metaloggers, and the engine's shared secret. {@code epoch} grows by one each time
 * the master changes (a master's data belongs to one epoch); {@code version} grows with every
 * change, and a change applies only to the version it was computed from (compare and set), so
 * a decision taken on an old state is dropped instead of undoing a newer one.
 *
 * @param version changes applied so far
 * @param epoch masters appointed so far (0: none yet)
 * @param master the master's node name, empty before the first
 * @param metaloggers nodes that keep a live copy of the metadata, in the order they were appointed
 * @param secret the password of the engine (chunkservers' AUTH_CODE, the mounts' password):
 *               random, made by the first leader, known only to members (Raft runs over the
 *               cluster's TLS channel) and to root on each node
 */
public record FileSpaceState(long version, long epoch, String master, List<String> metaloggers, String secret) {

    public static final FileSpaceState EMPTY = new FileSpaceState(0, 0, "", List.of(), "");

    public FileSpaceState {
        metaloggers = List.copyOf(metaloggers);
    }

    public boolean hasMaster() {
        return !master.isEmpty();
    }

    /** The next state: version + 1, the master's epoch + 1 if the master changes. */
    public FileSpaceState next(String newMaster, List<String> newMetaloggers, String newSecret) {
        return new FileSpaceState(version + 1, newMaster.equals(master) ? epoch : epoch + 1, newMaster, newMetaloggers, newSecret);
    }

    void write(DataOutput out) throws IOException {
        out.writeLong(version);
        out.writeLong(epoch);
        out.writeUTF(master);
        out.writeInt(metaloggers.size());
        for (String m : metaloggers) {
            out.writeUTF(m);
        }
        out.writeUTF(secret);
    }

    static FileSpaceState read(DataInput in) throws IOException {
        long version = in.readLong();
        long epoch = in.readLong();
        String master = in.readUTF();
        int n = in.readInt();
        if (n < 0 || n > 64) {
            throw new IOException("bad metalogger count " + n);
        }
        List<String> ml = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            ml.add(in.readUTF());
        }
        return new FileSpaceState(version, epoch, master, ml, in.readUTF());
    }

    /** A change: applies only if the current version is {@code from}. */
    static byte[] encodeChange(long from, FileSpaceState to) {
        try {
            var bytes = new ByteArrayOutputStream();
            var out = new DataOutputStream(bytes);
            out.writeLong(from);
            to.write(out);
            out.flush();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The state after applying a change to {@code current}: the change's target, or {@code current} if it is stale. */
    static FileSpaceState applyChange(FileSpaceState current, byte[] buf, int off, int len) throws IOException {
        var in = new DataInputStream(new ByteArrayInputStream(buf, off, len));
        long from = in.readLong();
        FileSpaceState to = read(in);
        return from == current.version() && to.version() == from + 1 ? to : current;
    }

    @Override
    public String toString() {
        return "v" + version + " epoch " + epoch + " master " + (master.isEmpty() ? "-" : master) + " metaloggers " + metaloggers;
    }
}

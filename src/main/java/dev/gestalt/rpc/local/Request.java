package dev.gestalt.rpc.local;

import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the CLI sends first: the command and its arguments as typed, and the
 * caller's context, so that a process started for it anywhere in the cluster
 * sees the environment it would see locally. The caller's identity is not
 * here: the node takes it from the socket (SO_PEERCRED).
 *
 * @param command   the subcommand (run, ps, kill, ...)
 * @param args      the arguments after the subcommand, unparsed
 * @param env       the caller's environment
 * @param cwd       the caller's working directory
 * @param umask     the caller's umask
 * @param limits    the caller's resource limits, as (resource, soft, hard) triples; -1 = unlimited
 * @param tty       whether the client wants a terminal (-t, or stdin and stdout are terminals)
 * @param stdoutTty whether the caller's stdout is a terminal
 * @param cols      terminal columns (0 when there is no terminal)
 * @param rows      terminal rows (0 when there is no terminal)
 */
public record Request(String command, List<String> args, Map<String, String> env, String cwd,
                      int umask, long[] limits, boolean tty, boolean stdoutTty, int cols, int rows) {

    private static final int VERSION = 1;

    public Frame toFrame() {
        // Encoded by hand, not with a DataOutputStream: its VarHandles cost the CLI's one-shot
        // JVM about a millisecond to set up. Same bytes: big-endian ints and longs.
        var out = new Encoder();
        out.writeByte(VERSION);
        out.writeString(command);
        out.writeInt(args.size());
        for (String a : args) {
            out.writeString(a);
        }
        out.writeInt(env.size());
        for (var e : env.entrySet()) {
            out.writeString(e.getKey());
            out.writeString(e.getValue());
        }
        out.writeString(cwd);
        out.writeInt(umask);
        out.writeInt(limits.length);
        for (long l : limits) {
            out.writeLong(l);
        }
        out.writeByte(tty ? 1 : 0);
        out.writeByte(stdoutTty ? 1 : 0);
        out.writeInt(cols);
        out.writeInt(rows);
        return new Frame(Frame.REQUEST, out.toByteArray());
    }

    /** A growing big-endian byte buffer. */
    private static final class Encoder {
        private byte[] buf = new byte[4096];
        private int n;

        private void ensure(int more) {
            if (n + more > buf.length) {
                buf = Arrays.copyOf(buf, Math.max(buf.length * 2, n + more));
            }
        }

        void writeByte(int v) {
            ensure(1);
            buf[n++] = (byte) v;
        }

        void writeInt(int v) {
            ensure(4);
            Frame.putInt(buf, n, v);
            n += 4;
        }

        void writeLong(long v) {
            writeInt((int) (v >>> 32));
            writeInt((int) v);
        }

        void writeString(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            writeInt(b.length);
            ensure(b.length);
            System.arraycopy(b, 0, buf, n, b.length);
            n += b.length;
        }

        byte[] toByteArray() {
            return Arrays.copyOf(buf, n);
        }
    }

    public static Request fromFrame(Frame f) throws IOException {
        if (f.type() != Frame.REQUEST) {
            throw new IOException("expected a request frame, got type " + f.type());
        }
        var in = new DataInputStream(new ByteArrayInputStream(f.payload()));
        int version = in.readUnsignedByte();
        if (version != VERSION) {
            throw new IOException("CLI speaks protocol version " + version + ", node speaks " + VERSION
                + ": use the same Gestalt version for CLI and node");
        }
        String command = readString(in);
        int n = in.readInt();
        List<String> args = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            args.add(readString(in));
        }
        int envSize = in.readInt();
        Map<String, String> env = new LinkedHashMap<>();
        for (int i = 0; i < envSize; i++) {
            env.put(readString(in), readString(in));
        }
        String cwd = readString(in);
        int umask = in.readInt();
        long[] limits = new long[in.readInt()];
        for (int i = 0; i < limits.length; i++) {
            limits[i] = in.readLong();
        }
        return new Request(command, args, env, cwd, umask, limits,
            in.readBoolean(), in.readBoolean(), in.readInt(), in.readInt());
    }

    private static String readString(DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > Frame.MAX_REQUEST) {
            throw new IOException("bad string length " + n);
        }
        return new String(in.readNBytes(n), StandardCharsets.UTF_8);
    }
}

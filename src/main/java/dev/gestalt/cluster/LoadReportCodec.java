package dev.gestalt.cluster;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The wire form of a {@link LoadReport}: a format byte, then the fields in declaration order
 * as {@link DataOutputStream} writes them. About 60 bytes for a typical node.
 * A reader rejects a format it does not know rather than guessing.
 */
final class LoadReportCodec {

    static final byte FORMAT = 1;

    private LoadReportCodec() {}

    static byte[] encode(LoadReport r) {
        var bytes = new ByteArrayOutputStream(96);
        try (var out = new DataOutputStream(bytes)) {
            out.writeByte(FORMAT);
            out.writeUTF(r.node());
            out.writeInt(r.nodeId());
            out.writeUTF(r.rpcAddress());
            out.writeUTF(r.version());
            out.writeInt(r.cpus());
            out.writeDouble(r.load());
            out.writeLong(r.memFreeBytes());
            out.writeLong(r.memTotalBytes());
            out.writeInt(r.processes());
            out.writeLong(r.epochMillis());
            out.writeBoolean(r.draining());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    static LoadReport decode(byte[] buf, int offset, int length) throws IOException {
        try (var in = new DataInputStream(new ByteArrayInputStream(buf, offset, length))) {
            byte format = in.readByte();
            if (format != FORMAT) {
                throw new IOException("unknown load report format " + format);
            }
            var r = new LoadReport(in.readUTF(), in.readInt(), in.readUTF(), in.readUTF(), in.readInt(),
                    in.readDouble(), in.readLong(), in.readLong(), in.readInt(), in.readLong(), in.readBoolean());
            if (in.available() != 0) {
                throw new IOException(in.available() + " trailing bytes after a load report");
            }
            return r;
        }
    }
}

package dev.gestalt.process.supervisor;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The keeper protocol's messages, as src/main/c/keeper.c reads and writes them: a 4-byte
 * big-endian length, then fields each ended by a NUL.
 */
final class KeeperWire {
    /** A reply larger than this is a broken keeper, not a message. */
    private static final int MAX_REPLY = 64 << 20;

    private KeeperWire() {}

    /** A message: the length, then each field and a NUL. */
    static byte[] frame(List<String> fields) {
        var out = new ByteArrayOutputStream(256);
        out.writeBytes(new byte[4]);
        for (String s : fields) {
            if (s.indexOf('\0') >= 0) {
                // fields end at a NUL, and exec could not pass one either
                throw new IllegalArgumentException("invalid null character in command or environment");
            }
            out.writeBytes(s.getBytes(StandardCharsets.UTF_8));
            out.write(0);
        }
        byte[] b = out.toByteArray();
        int len = b.length - 4;
        b[0] = (byte) (len >>> 24);
        b[1] = (byte) (len >>> 16);
        b[2] = (byte) (len >>> 8);
        b[3] = (byte) len;
        return b;
    }

    /** The next message's fields, or null at the end of the connection. */
    static List<String> read(SocketChannel ch) throws IOException {
        ByteBuffer head = ByteBuffer.allocate(4);
        if (!fill(ch, head)) {
            return null;
        }
        int len = head.flip().getInt();
        if (len <= 0 || len > MAX_REPLY) {
            throw new IOException("a reply of " + len + " bytes from the keeper");
        }
        ByteBuffer body = ByteBuffer.allocate(len);
        if (!fill(ch, body)) {
            throw new IOException("the keeper closed the connection in the middle of a reply");
        }
        List<String> fields = new ArrayList<>(8);
        byte[] b = body.array();
        for (int start = 0, i = 0; i < len; i++) {
            if (b[i] == 0) {
                fields.add(new String(b, start, i - start, StandardCharsets.UTF_8));
                start = i + 1;
            }
        }
        return fields;
    }

    private static boolean fill(SocketChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            if (ch.read(b) < 0) {
                if (b.position() == 0) {
                    return false;
                }
                throw new IOException("the keeper closed the connection in the middle of a reply");
            }
        }
        return true;
    }

}

package dev.gestalt.process.checkpoint;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import javax.crypto.Cipher;
import javax.crypto.KDF;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.HKDFParameterSpec;

/**
 * A checkpoint at rest: encrypted and authenticated (AES-256-GCM) with a key only the cluster's
 * nodes can derive (HKDF-SHA256 of the cluster's secret and a salt of the file's own), in
 * segments of at most {@link #SEGMENT} bytes, each sealed with its number and whether it is the
 * last, so that a segment changed, moved, dropped or cut off makes the whole unreadable.
 *
 * <pre>
 *   "GESTALT-CHECKPOINT-1\n"  salt (16 bytes)  { length (int)  sealed segment }...
 * </pre>
 * Segment 0 is the checkpoint's description alone (read without the rest for a listing).
 */
final class Sealed {

    static final int SEGMENT = 1 << 20;
    private static final byte[] MAGIC = "GESTALT-CHECKPOINT-1\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] INFO = "gestalt checkpoint key v1".getBytes(StandardCharsets.US_ASCII);
    private static final int SALT = 16;
    private static final int TAG_BITS = 128;
    private static final SecureRandom RANDOM = new SecureRandom();

    private Sealed() {}

    private static SecretKey key(byte[] secret, byte[] salt) throws IOException {
        try {
            return KDF.getInstance("HKDF-SHA256").deriveKey("AES",
                HKDFParameterSpec.ofExtract().addIKM(secret).addSalt(salt).thenExpand(INFO, 32));
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot derive the checkpoint key: " + e.getMessage(), e);
        }
    }

    private static byte[] nonce(long n) {
        return ByteBuffer.allocate(12).putInt(0).putLong(n).array();
    }

    private static byte[] aad(byte[] salt, boolean last) {
        byte[] a = Arrays.copyOf(MAGIC, MAGIC.length + SALT + 1);
        System.arraycopy(salt, 0, a, MAGIC.length, SALT);
        a[a.length - 1] = (byte) (last ? 1 : 0);
        return a;
    }

    /** Writes sealed segments to {@code out}: {@link #first} once, then the rest as a stream; close ends it. */
    static final class Writer extends OutputStream {
        private final DataOutputStream out;
        private final SecretKey key;
        private final byte[] salt = new byte[SALT];
        private final byte[] buf = new byte[SEGMENT];
        private int len;
        private long n;
        private boolean closed;

        Writer(OutputStream out, byte[] secret, byte[] first) throws IOException {
            this.out = new DataOutputStream(out);
            RANDOM.nextBytes(salt);
            this.key = key(secret, salt);
            this.out.write(MAGIC);
            this.out.write(salt);
            if (first.length > SEGMENT) {
                throw new IOException("a checkpoint description of " + first.length + " bytes");
            }
            seal(first, first.length, false);
        }

        private void seal(byte[] b, int length, boolean last) throws IOException {
            try {
                Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
                c.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, nonce(n++)));
                c.updateAAD(aad(salt, last));
                byte[] sealed = c.doFinal(b, 0, length);
                out.writeInt(sealed.length);
                out.write(sealed);
            } catch (GeneralSecurityException e) {
                throw new IOException("cannot seal the checkpoint: " + e.getMessage(), e);
            }
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int length) throws IOException {
            while (length > 0) {
                if (len == SEGMENT) {
                    seal(buf, len, false);
                    len = 0;
                }
                int k = Math.min(length, SEGMENT - len);
                System.arraycopy(b, off, buf, len, k);
                len += k;
                off += k;
                length -= k;
            }
        }

        @Override
        public void close() throws IOException {
            if (!closed) {
                closed = true;
                seal(buf, len, true);
                out.close();
            }
        }
    }

    /** Reads what a {@link Writer} wrote: {@link #first()}, then the rest as a stream (EOF only at the sealed end). */
    static final class Reader extends InputStream {
        private final DataInputStream in;
        private final SecretKey key;
        private final byte[] salt = new byte[SALT];
        private final byte[] first;
        private byte[] seg = new byte[0];
        private int pos;
        private long n;
        private boolean last;

        Reader(InputStream in, byte[] secret) throws IOException {
            this.in = new DataInputStream(in);
            byte[] magic = new byte[MAGIC.length];
            this.in.readFully(magic);
            if (!Arrays.equals(magic, MAGIC)) {
                throw new IOException("not a Gestalt checkpoint");
            }
            this.in.readFully(salt);
            this.key = key(secret, salt);
            this.first = open();
            if (last) {
                throw new IOException("a checkpoint without its images");
            }
        }

        byte[] first() {
            return first;
        }

        private byte[] open() throws IOException {
            int length;
            try {
                length = in.readInt();
            } catch (EOFException e) {
                throw new IOException("the checkpoint is cut short");
            }
            if (length < TAG_BITS / 8 || length > SEGMENT + TAG_BITS / 8) {
                throw new IOException("the checkpoint is damaged");
            }
            byte[] sealed = new byte[length];
            in.readFully(sealed);
            for (boolean lastOne : new boolean[] {false, true}) {
                try {
                    Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
                    c.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, nonce(n)));
                    c.updateAAD(aad(salt, lastOne));
                    byte[] plain = c.doFinal(sealed);
                    n++;
                    last = lastOne;
                    return plain;
                } catch (javax.crypto.AEADBadTagException e) {
                    // the other flag, or damaged: tried next, or said below
                } catch (GeneralSecurityException e) {
                    throw new IOException("cannot open the checkpoint: " + e.getMessage(), e);
                }
            }
            throw new IOException("the checkpoint is damaged, or was not sealed by this cluster");
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int length) throws IOException {
            while (pos == seg.length) {
                if (last) {
                    return -1;
                }
                seg = open();
                pos = 0;
            }
            int k = Math.min(length, seg.length - pos);
            System.arraycopy(seg, pos, b, off, k);
            pos += k;
            return k;
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }
}

package dev.gestalt.process.supervisor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.protobuf.CodedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How much memory a post-copy move leaves to be pulled, read from CRIU's pagemap images. */
class CriuImagesTest {

    /** A pagemap image as CRIU writes it: two magics, then size-prefixed messages (a head, then the entries). */
    private static byte[] pagemap(long[][] entries) throws IOException {
        var out = new ByteArrayOutputStream();
        out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(0x54564319).putInt(0x56084025).array());
        message(out, m -> m.writeUInt32(1, 2)); // pagemap_head { pages_id = 2 }
        for (long[] e : entries) { // vaddr, pages, flags, whether pages go in compat_nr_pages
            message(out, m -> {
                m.writeUInt64(1, e[0]);
                m.writeUInt32(2, e[3] == 1 ? (int) e[1] : 0);
                m.writeUInt32(4, (int) e[2]);
                if (e[3] == 0) {
                    m.writeUInt64(5, e[1]);
                }
            });
        }
        return out.toByteArray();
    }

    interface Body {
        void write(CodedOutputStream m) throws IOException;
    }

    private static void message(ByteArrayOutputStream out, Body body) throws IOException {
        var b = new ByteArrayOutputStream();
        var m = CodedOutputStream.newInstance(b);
        body.write(m);
        m.flush();
        out.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(b.size()).array());
        out.write(b.toByteArray());
    }

    @Test
    void onlyLazyPagesCount() throws IOException {
        byte[] img = pagemap(new long[][] {
            {0x400000, 3, 4, 0},        // present: in pages-N.img, carried with the images
            {0x7f0000000000L, 65536, 2, 0}, // lazy: 256 MiB left on the source
            {0x7f1000000000L, 10, 2, 1},    // lazy, the count in the old field
            {0x7f2000000000L, 5, 1, 0}});   // in a parent checkpoint
        assertEquals(65546, CriuLazy.lazyPages(img));
    }

    @Test
    void theFolderSumsItsPagemaps(@TempDir Path dir) throws IOException {
        Files.write(dir.resolve("pagemap-1.img"), pagemap(new long[][] {{0x1000, 2, 2, 0}}));
        Files.write(dir.resolve("pagemap-2.img"), pagemap(new long[][] {{0x1000, 3, 6, 0}}));
        Files.write(dir.resolve("pages-1.img"), new byte[4096]);
        assertEquals(5 * 4096, CriuLazy.lazyBytes(dir));
    }

    @Test
    void aTruncatedImageIsNoNumber(@TempDir Path dir) throws IOException {
        byte[] img = pagemap(new long[][] {{0x1000, 2, 2, 0}});
        byte[] cut = java.util.Arrays.copyOf(img, img.length - 3);
        assertThrows(IOException.class, () -> CriuLazy.lazyPages(cut));
        Files.write(dir.resolve("pagemap-1.img"), cut);
        assertEquals(0, CriuLazy.lazyBytes(dir), "unknown, said as 0");
    }
}

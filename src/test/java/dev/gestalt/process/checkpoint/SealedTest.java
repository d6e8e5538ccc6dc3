package dev.gestalt.process.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** A sealed checkpoint reads back as written, and only whole, unchanged, and with the cluster's secret. */
class SealedTest {

    private static final byte[] SECRET = "the-cluster-secret".getBytes(StandardCharsets.UTF_8);

    private static byte[] seal(byte[] first, byte[] rest, byte[] secret) throws IOException {
        var out = new ByteArrayOutputStream();
        try (var w = new Sealed.Writer(out, secret, first)) {
            w.write(rest);
        }
        return out.toByteArray();
    }

    private static byte[] open(byte[] sealed, byte[] secret, byte[] first) throws IOException {
        try (var r = new Sealed.Reader(new ByteArrayInputStream(sealed), secret)) {
            assertArrayEquals(first, r.first());
            return r.readAllBytes();
        }
    }

    @Test
    void whatIsWrittenReadsBackAcrossSegmentsAndItsTextIsNotInTheFile() throws IOException {
        byte[] first = "description".getBytes(StandardCharsets.UTF_8);
        for (int size : new int[] {0, 1, Sealed.SEGMENT - 1, Sealed.SEGMENT, Sealed.SEGMENT + 1, 3 * Sealed.SEGMENT + 17}) {
            byte[] rest = new byte[size];
            new Random(size).nextBytes(rest);
            byte[] marker = "PLAINTEXT-MARKER-1234".getBytes(StandardCharsets.UTF_8);
            if (size >= marker.length) {
                System.arraycopy(marker, 0, rest, 0, marker.length);
            }
            byte[] sealed = seal(first, rest, SECRET);
            assertArrayEquals(rest, open(sealed, SECRET, first), "size " + size);
            String asText = new String(sealed, StandardCharsets.ISO_8859_1);
            assertFalse(asText.contains("PLAINTEXT-MARKER") || asText.contains("description"), "encrypted at rest");
        }
    }

    @Test
    void twoSealsOfTheSameDifferInEveryByteAfterTheHeader() throws IOException {
        byte[] rest = new byte[1000];
        byte[] a = seal(new byte[0], rest, SECRET);
        byte[] b = seal(new byte[0], rest, SECRET);
        assertEquals(a.length, b.length);
        assertFalse(Arrays.equals(a, b), "a salt of its own: not the same key stream twice");
    }

    @Test
    void aChangedByteADroppedEndOrAnotherSecretIsRefused() throws IOException {
        byte[] first = "d".getBytes(StandardCharsets.UTF_8);
        byte[] rest = new byte[2 * Sealed.SEGMENT + 100];
        new Random(1).nextBytes(rest);
        byte[] sealed = seal(first, rest, SECRET);
        for (int at : new int[] {30, 60, Sealed.SEGMENT + 200, sealed.length - 1}) {
            byte[] bad = sealed.clone();
            bad[at] ^= 1;
            assertThrows(IOException.class, () -> open(bad, SECRET, first), "byte " + at + " changed");
        }
        // cut at the end of a whole segment: the reader must not take it for the end
        int cut = 21 + 16 + 4 + (first.length + 16) + 4 + (Sealed.SEGMENT + 16);
        assertThrows(IOException.class, () -> open(Arrays.copyOf(sealed, cut), SECRET, first), "cut after a segment");
        assertThrows(IOException.class, () -> open(Arrays.copyOf(sealed, sealed.length - 5), SECRET, first), "cut short");
        IOException e = assertThrows(IOException.class,
            () -> open(sealed, "another".getBytes(StandardCharsets.UTF_8), first));
        assertTrue(e.getMessage().contains("not sealed by this cluster"), e.getMessage());
        assertThrows(IOException.class, () -> open("not a checkpoint at all, no".getBytes(StandardCharsets.UTF_8), SECRET, first));
    }
}

package dev.gestalt.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class LoadReportCodecTest {

    static Stream<LoadReport> reports() {
        var rnd = new Random(42);
        return Stream.concat(Stream.of(
                new LoadReport("n", 0, "", "", 0, 0, 0, 0, 0, 0, false),
                new LoadReport("nöde-ü", -1, "[::1]:7100", "0.1.0", 256, Double.NaN, Long.MAX_VALUE, Long.MIN_VALUE,
                        Integer.MAX_VALUE, Long.MIN_VALUE, true)),
                Stream.generate(() -> new LoadReport("node-" + rnd.nextInt(1000), rnd.nextInt(), "10.0.0." + rnd.nextInt(255)
                        + ":" + rnd.nextInt(65536), "v" + rnd.nextInt(9), rnd.nextInt(512), rnd.nextDouble() * 64,
                        rnd.nextLong(), rnd.nextLong(), rnd.nextInt(100_000), rnd.nextLong(), rnd.nextBoolean())).limit(50));
    }

    @ParameterizedTest
    @MethodSource("reports")
    void roundTrips(LoadReport r) throws IOException {
        byte[] bytes = LoadReportCodec.encode(r);
        assertEquals(r, LoadReportCodec.decode(bytes, 0, bytes.length));
        byte[] framed = new byte[bytes.length + 7];
        System.arraycopy(bytes, 0, framed, 3, bytes.length);
        assertEquals(r, LoadReportCodec.decode(framed, 3, bytes.length));
        assertTrue(bytes.length < 128, "compact: " + bytes.length + " bytes");
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 10, 40})
    void rejectsTruncatedReports(int cut) {
        byte[] bytes = LoadReportCodec.encode(TestNodes.report("abc", 3));
        assertThrows(IOException.class, () -> LoadReportCodec.decode(bytes, 0, bytes.length - cut));
    }

    @ParameterizedTest
    @ValueSource(bytes = {0, 2, -1})
    void rejectsUnknownFormatsAndTrailingBytes(byte format) {
        byte[] bytes = LoadReportCodec.encode(TestNodes.report("abc", 3));
        byte[] wrongFormat = bytes.clone();
        wrongFormat[0] = format;
        assertThrows(IOException.class, () -> LoadReportCodec.decode(wrongFormat, 0, wrongFormat.length));
        byte[] longer = Arrays.copyOf(bytes, bytes.length + 1);
        assertThrows(IOException.class, () -> LoadReportCodec.decode(longer, 0, longer.length));
    }
}

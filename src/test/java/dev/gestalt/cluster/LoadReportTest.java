package dev.gestalt.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.CodedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The wire form of a gossiped load report (protobuf, gossip.proto). */
class LoadReportTest {

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
        byte[] bytes = r.toBytes();
        assertEquals(r, LoadReport.parse(bytes, 0, bytes.length));
        byte[] framed = new byte[bytes.length + 7];
        System.arraycopy(bytes, 0, framed, 3, bytes.length);
        assertEquals(r, LoadReport.parse(framed, 3, bytes.length));
        assertTrue(bytes.length < 128, "compact: " + bytes.length + " bytes");
    }

    @Test
    void fieldsOfANewerVersionAreIgnored() throws IOException {
        LoadReport r = TestNodes.report("abc", 3);
        var out = new ByteArrayOutputStream();
        out.writeBytes(r.toBytes());
        var extra = CodedOutputStream.newInstance(out);
        extra.writeString(99, "a field this version does not know");
        extra.flush();
        byte[] newer = out.toByteArray();
        assertEquals(r, LoadReport.parse(newer, 0, newer.length));
    }

    @Test
    void whetherANodeCanMoveItsProcessesTravelsWithItsReport() throws IOException {
        LoadReport base = TestNodes.report("abc", 3);
        assertEquals(Migration.UNKNOWN, base.migration(), "a report that does not say");
        for (Migration m : List.of(new Migration(true, "post-copy, stop-and-copy"),
                new Migration(false, "the node runs as alice, not root: CRIU needs root"))) {
            LoadReport r = new LoadReport(base.node(), base.nodeId(), base.rpcAddress(), base.version(), base.cpus(), base.load(),
                base.memFreeBytes(), base.memTotalBytes(), base.processes(), base.epochMillis(), false, m);
            byte[] b = r.toBytes();
            assertEquals(m, LoadReport.parse(b, 0, b.length).migration());
        }
        byte[] older = base.toBytes();
        assertEquals(Migration.UNKNOWN, LoadReport.parse(older, 0, older.length).migration(), "an older node's report");
        assertEquals("?", Migration.UNKNOWN.word());
    }

    @Test
    void garbageAndNamelessReportsAreRefused() {
        byte[] garbage = {9, 9, 9};
        assertThrows(IOException.class, () -> LoadReport.parse(garbage, 0, garbage.length));
        byte[] truncated = TestNodes.report("abcdef", 3).toBytes();
        assertThrows(IOException.class, () -> LoadReport.parse(truncated, 0, 4), "cut inside the name");
        byte[] empty = new byte[0];
        var e = assertThrows(IOException.class, () -> LoadReport.parse(empty, 0, 0));
        assertEquals("a load report without a node name", e.getMessage());
    }
}

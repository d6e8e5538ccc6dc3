package dev.gestalt.process.forall;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Input sources as parallel reads its command line, combined in its order; lines as they come. */
class InputsTest {

    private static List<List<String>> all(Inputs in, List<List<String>> values) {
        List<List<String>> out = new ArrayList<>();
        in.combinations(values).forEachRemaining(out::add);
        return out;
    }

    @Test
    void templateAndSources() {
        Inputs in = Inputs.parse(List.of("echo", "{}", ":::", "a", "b", "::::", "f1", "f2", ":::+", "x"), List.of("af"));
        assertEquals(List.of("echo", "{}"), in.template());
        assertEquals(5, in.sources().size());
        assertEquals("af", in.sources().get(0).file());
        assertEquals(List.of("a", "b"), in.sources().get(1).values());
        assertEquals("f2", in.sources().get(3).file());
        assertTrue(in.sources().get(4).linked());
        assertFalse(in.readsStdin());
        Inputs none = Inputs.parse(List.of("echo"), List.of());
        assertTrue(none.readsStdin() && none.streams());
    }

    @Test
    void everyCombinationFirstSourceOutermost() {
        Inputs in = Inputs.parse(List.of("echo", ":::", "a", "b", ":::", "1", "2", "3"), List.of());
        var rows = in.combinations(List.of(List.of("a", "b"), List.of("1", "2", "3")));
        assertEquals(6, rows.size());
        List<List<String>> got = new ArrayList<>();
        rows.forEachRemaining(got::add);
        assertEquals(List.of(List.of("a", "1"), List.of("a", "2"), List.of("a", "3"), List.of("b", "1"), List.of("b", "2"),
            List.of("b", "3")), got);
    }

    @Test
    void linkedSourcesGoSideBySideAsFarAsTheShorter() {
        Inputs in = Inputs.parse(List.of("echo", ":::", "a", "b", "c", ":::+", "1", "2", ":::", "x", "y"), List.of());
        assertEquals(List.of(List.of("a", "1", "x"), List.of("a", "1", "y"), List.of("b", "2", "x"), List.of("b", "2", "y")),
            all(in, List.of(List.of("a", "b", "c"), List.of("1", "2"), List.of("x", "y"))));
    }

    @Test
    void anEmptySourceAmongSeveralIsOneEmptyArgument() {
        Inputs in = Inputs.parse(List.of("echo", ":::", "a", ":::"), List.of());
        assertEquals(List.of(List.of("a", "")), all(in, List.of(List.of("a"), List.of())));
        Inputs one = Inputs.parse(List.of("echo", ":::"), List.of());
        assertEquals(List.of(), all(one, List.of(List.of())));
    }

    @Test
    void linesKeepEmptyOnesAndTheLastWithoutNewline() throws Exception {
        LineSource s = new LineSource("stdin", Long.MAX_VALUE);
        byte[] b = "a\n\nb c\nlast".getBytes(StandardCharsets.UTF_8);
        s.feed(b, 0, 3, false);
        s.feed(b, 3, b.length - 3, false);
        s.end();
        List<String> lines = new ArrayList<>();
        for (String l; (l = s.next()) != null; ) {
            lines.add(l);
        }
        assertEquals(List.of("a", "", "b c", "last"), lines);
        assertEquals(b.length + 1, s.consumed(), "bytes taken, to give back as credit");
        LineSource failed = new LineSource("f", 10);
        failed.fail("cannot read f");
        assertThrows(ForallFailure.class, failed::next);
    }
}

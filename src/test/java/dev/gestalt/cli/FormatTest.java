package dev.gestalt.cli;

import dev.gestalt.command.Sizes;
import dev.gestalt.command.UsageException;
import dev.gestalt.format.Table;
import dev.gestalt.format.Json;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FormatTest {

    @Test
    void sizesParseAsPeopleTypeThem() throws Exception {
        assertEquals(512L << 20, Sizes.parse("run", "512M"));
        assertEquals(2L << 30, Sizes.parse("run", "2g"));
        assertEquals(3L << 29, Sizes.parse("run", "1.5GiB"));
        assertEquals(4096, Sizes.parse("run", "4096"));
        assertThrows(UsageException.class, () -> Sizes.parse("run", "-1G"));
        assertThrows(UsageException.class, () -> Sizes.parse("run", "big"));
        assertEquals("1.5G", Sizes.human(3L << 29));
        assertEquals("512M", Sizes.human(512L << 20));
        assertEquals("100B", Sizes.human(100));
    }

    @Test
    void jsonEscapesAndNests() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("s", "a\"b\\c\n\u0001");
        m.put("n", 3);
        m.put("d", 1.5);
        m.put("nan", Double.NaN);
        m.put("l", List.of(true, "x"));
        m.put("null", null);
        assertEquals("{\"s\":\"a\\\"b\\\\c\\n\\u0001\",\"n\":3,\"d\":1.5,\"nan\":null,\"l\":[true,\"x\"],\"null\":null}", Json.write(m));
    }

    @Test
    void tablePadsColumnsAndRightAlignsNumbers() {
        String t = new Table("NAME", ">N", "CMD").row("a", 5, "x y").row("long-name", 12345, "z").toString();
        assertEquals("""
            NAME           N  CMD
            a              5  x y
            long-name  12345  z
            """, t);
    }

    @Test
    void tableKeepsEachRowOnOneLine() {
        String t = new Table("ID", "COMMAND").row("n1:7", "bash -c 'a\nb'\t\u001b[2J\u0085é").toString();
        assertEquals("""
            ID    COMMAND
            n1:7  bash -c 'a?b'??[2J?é
            """, t);
    }
}

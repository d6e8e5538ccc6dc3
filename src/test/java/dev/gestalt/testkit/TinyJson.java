package dev.gestalt.testkit;

import dev.gestalt.format.JsonReader;
import java.util.List;
import java.util.Map;

/** The tests' name for {@link JsonReader} (strict JSON reading of {@code --json} output). */
public final class TinyJson {

    private TinyJson() {}

    public static Object parse(String text) {
        return JsonReader.parse(text);
    }

    public static List<Map<String, Object>> rows(String text) {
        return JsonReader.rows(text);
    }
}

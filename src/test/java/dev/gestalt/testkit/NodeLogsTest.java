package dev.gestalt.testkit;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NodeLogsTest {
    @TempDir
    Path dir;

    private Path log(int node) {
        return dir.resolve("node" + node + ".log");
    }

    private void append(int node, String text) throws IOException {
        Files.writeString(log(node), text, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    @Test
    void aFailureCarriesWhatEachNodeLoggedDuringTheTestOnly() throws IOException {
        var logs = new NodeLogs(2, this::log);
        assertNull(logs.sinceMark(), "no test began yet");
        append(1, "before the test\n");
        logs.mark(); // node2 has no log yet
        append(1, "node1 during\n");
        append(2, "node2 during\n");
        String text = logs.sinceMark().getMessage();
        assertTrue(text.contains("node1 during\n") && text.contains("node2 during\n"), text);
        assertFalse(text.contains("before the test"), text);
        assertTrue(text.indexOf(log(1).toString()) < text.indexOf("node1 during"), "each under its file's name: " + text);
    }

    @Test
    void aLongLogGivesItsEndAndSaysWhatItLeftOut() throws IOException {
        var logs = new NodeLogs(1, this::log);
        logs.mark();
        String line = "x".repeat(99) + "\n";
        append(1, line.repeat(200) + "the last line\n"); // 20,014 bytes
        String text = logs.sinceMark().getMessage();
        assertTrue(text.endsWith("the last line\n"), text.substring(text.length() - 200));
        assertTrue(text.contains("[... " + (20_014 - 12 * 1024) + " bytes before]"), text.substring(0, 300));
        assertTrue(text.length() < 13 * 1024, "bounded: " + text.length());
    }
}

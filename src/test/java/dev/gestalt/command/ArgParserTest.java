package dev.gestalt.command;


import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class ArgParserTest {

    private static ParsedArgs parse(String cmd, String... args) throws UsageException {
        ParsedArgs a = ArgParser.parse(Commands.find(cmd), List.of(args));
        Validation.check(Commands.find(cmd), a);
        return a;
    }

    @Test
    void runStopsAtTheProgramSoItsFlagsAreItsOwn() throws Exception {
        ParsedArgs a = parse("run", "-n", "node2", "ls", "-l", "--color", "-n");
        assertEquals("node2", a.get("node"));
        assertEquals(List.of("ls", "-l", "--color", "-n"), a.positionals());
    }

    @Test
    void doubleDashEndsOptions() throws Exception {
        ParsedArgs a = parse("run", "-T", "--", "-weird-name", "x");
        assertTrue(a.has("no-tty"));
        assertEquals(List.of("-weird-name", "x"), a.positionals());
    }

    @Test
    void attachedValuesBundledFlagsAndEquals() throws Exception {
        ParsedArgs a = parse("run", "-dnnode3", "--mem=2G", "--cpus", "4", "true");
        assertTrue(a.has("detach"));
        assertEquals("node3", a.get("node"));
        assertEquals("2G", a.get("mem"));
        assertEquals(4, a.intValue("cpus", 0, 0, 100));
    }

    @Test
    void killTakesSignalShorthandsAsKillDoes() throws Exception {
        assertEquals("9", parse("kill", "-9", "1-2").get("signal"));
        assertEquals("KILL", parse("kill", "-KILL", "1-2").get("signal"));
        assertEquals("SIGTERM", parse("kill", "-SIGTERM", "1-2").get("signal"));
        assertEquals("HUP", parse("kill", "-s", "HUP", "1-2", "2-3").get("signal"));
        assertEquals(List.of("1-2", "2-3"), parse("kill", "-s", "HUP", "1-2", "2-3").positionals());
    }

    @Test
    void usageErrors() {
        assertThrows(UsageException.class, () -> parse("run"));
        assertThrows(UsageException.class, () -> parse("run", "--bogus", "true"));
        assertThrows(UsageException.class, () -> parse("run", "-t", "-T", "true"));
        assertThrows(UsageException.class, () -> parse("run", "--mem", "lots", "true"));
        assertThrows(UsageException.class, () -> parse("run", "-n"));
        assertThrows(UsageException.class, () -> parse("ps", "extra"));
        assertThrows(UsageException.class, () -> parse("logs"));
        assertThrows(UsageException.class, () -> parse("logs", "1-1", "1-2"));
        assertThrows(UsageException.class, () -> parse("wait"));
        assertThrows(UsageException.class, () -> parse("cluster", "sideways"));
        assertThrows(UsageException.class, () -> parse("forall", "-j", "x", "--", "echo", ":::", "a"));
        assertThrows(UsageException.class, () -> parse("forall", "--halt", "sometimes", "echo", ":::", "a"));
        assertThrows(UsageException.class, () -> parse("kill", "-u", "alice", "1-2"));
        assertThrows(UsageException.class, () -> parse("wait", "--all", "1-2"));
        assertThrows(UsageException.class, () -> parse("nodes", "--json=yes"));
    }

    @Test
    void forallKeepsItsTemplateAndArguments() throws Exception {
        ParsedArgs a = parse("forall", "-j", "4", "--tag", "--", "sh", "-c", "echo {}", ":::", "a", "b");
        assertEquals(List.of("sh", "-c", "echo {}", ":::", "a", "b"), a.positionals());
        assertTrue(a.has("tag"));
        assertFalse(a.has("keep-order"));
    }

    @Test
    void helpIsAnOptionEverywhere() throws Exception {
        for (CommandSpec c : Commands.ALL) {
            assertTrue(ArgParser.parse(c, List.of("--help")).has("help"), c.name());
            assertTrue(c.help().startsWith("Usage: gestalt " + c.name()), c.name());
        }
    }
}

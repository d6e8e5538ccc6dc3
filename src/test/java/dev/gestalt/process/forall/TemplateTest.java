package dev.gestalt.process.forall;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.gestalt.rpc.GestaltException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The command a task runs, as GNU parallel would build its line (ForallIT compares with parallel itself). */
class TemplateTest {

    private static final Map<String, String> ENV = Map.of("SHELL", "/bin/bash");

    private static Template.Command cmd(List<String> template, boolean quote, String... args) throws Exception {
        return Template.parse(template, quote).command(List.of(args), 7, 2, ENV);
    }

    @Test
    void modifiersAreParallels() {
        assertEquals("a/b", Template.modify("a/b.c", "."));
        assertEquals("a.b/c", Template.modify("a.b/c", "."));
        assertEquals("", Template.modify(".bashrc", "."));
        assertEquals("c.d", Template.modify("/a/b/c.d", "/"));
        assertEquals("c", Template.modify("/a/b/c.d", "/."));
        assertEquals("/a/b", Template.modify("/a/b/c.d", "//"));
        assertEquals(".", Template.modify("file", "//"));
        assertEquals(".", Template.modify("dir/", "//"));
        assertEquals("/", Template.modify("/x", "//"));
        assertEquals("/", Template.modify("/", "//"));
        assertEquals("a", Template.modify("a//b", "//"));
    }

    @Test
    void plainCommandsRunWithoutAShell() throws Exception {
        assertEquals(List.of("gzip", "-9", "a b.log"), cmd(List.of("gzip", "-9"), false, "a b.log").argv());
        assertEquals("gzip -9 'a b.log'", cmd(List.of("gzip", "-9"), false, "a b.log").line());
        assertEquals(List.of("cp", "x/a.c", "a.o", "7", "2"), cmd(List.of("cp", "x/{}", "{/.}.o", "{#}", "{%}"), false, "a.c").argv());
        assertEquals(List.of("true", "1"), cmd(List.of("true"), false, "1").argv());
    }

    @Test
    void shellLinesGoToTheShellWithArgumentsQuoted() throws Exception {
        assertEquals(List.of("/bin/bash", "-c", "echo 'it'\\''s' | wc -c"), cmd(List.of("echo {} | wc -c"), false, "it's").argv());
        assertEquals(List.of("/bin/bash", "-c", "echo a  b x"), cmd(List.of("echo", "a  b"), false, "x").argv(),
            "a word with spaces is part of the line, as in parallel");
        assertEquals(List.of("/bin/bash", "-c", "printf [%s] a"), cmd(List.of("printf", "[%s]"), false, "a").argv(),
            "a glob is the shell's");
        assertEquals(List.of("/bin/bash", "-c", "cd /tmp"), cmd(List.of("cd"), false, "/tmp").argv(), "a builtin");
        assertEquals(List.of("/bin/bash", "-c", "X=1 env"), cmd(List.of("X=1", "env"), false).argv(), "an assignment");
        assertEquals(List.of("/bin/bash", "-c", "echo hi; echo ho"), cmd(List.of(), false, "echo hi; echo ho").argv(),
            "no command: the argument is the line");
        assertEquals("/bin/sh", Template.shell(Map.of("SHELL", "/usr/bin/fish")));
        assertEquals("/bin/dash", Template.shell(Map.of("SHELL", "/bin/bash", "PARALLEL_SHELL", "/bin/dash")));
    }

    @Test
    void severalSourcesAreSeveralWords() throws Exception {
        assertEquals(List.of("mv", "xa", "by"), cmd(List.of("mv", "x{}y"), false, "a", "b").argv());
        assertEquals(List.of("ls", "b", "a", "b", "a.x"), cmd(List.of("ls", "{2}", "{1.}", "{3}", "{-1}", "{1}"), false, "a.x", "b").argv(),
            "{3} of two sources is nothing");
        assertEquals(List.of("/bin/bash", "-c", "echo a 1"), cmd(List.of("echo"), false, "a", "1").argv(), "echo is a builtin");
    }

    @Test
    void quoteKeepsTheWords() throws Exception {
        assertEquals(List.of("sh", "-c", "echo a b; echo x"), cmd(List.of("sh", "-c", "echo {}; echo x"), true, "a b").argv());
        assertEquals("sh -c 'echo ''a b''; echo x'", cmd(List.of("sh", "-c", "echo {}; echo x"), true, "a b").line(),
            "the joblog's Command: a line a shell would split into the same words");
    }

    @Test
    void perlExpressionsAreRefused() {
        assertThrows(GestaltException.BadRequest.class, () -> Template.parse(List.of("echo", "{= s/a/b/ =}"), false));
    }
}

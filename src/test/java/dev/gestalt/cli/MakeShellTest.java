package dev.gestalt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * make's shell under {@code gestalt make} (target/gestalt-sh, src/main/c/gestalt-run.c): which
 * lines stay here (recursive makes, which need make's jobserver) and which go to the cluster.
 * No node is reachable here (GESTALT_NODE names a missing socket), so a line sent to the cluster
 * ends with 255 and "cannot reach a Gestalt node", and one run here prints what it printed. The
 * placement of the others on a real cluster: FileSpaceToolsIT.
 */
class MakeShellTest {
    static final Path SHELL = Path.of("target", "gestalt-sh").toAbsolutePath();

    @TempDir
    Path dir;

    record Result(int code, String out) {}

    /** Runs {@code gestalt-sh -c line} from bash, after {@code setup} (which may open descriptors), with MAKEFLAGS. */
    private Result sh(String makeflags, String setup, String line, String... env) throws Exception {
        var pb = new ProcessBuilder("bash", "-c", setup + "; exec \"$GSH\" -c \"$LINE\"")
            .directory(dir.toFile()).redirectErrorStream(true);
        pb.environment().put("GSH", SHELL.toString());
        pb.environment().put("LINE", line);
        pb.environment().put("GESTALT_NODE", dir.resolve("no-node.sock").toString());
        pb.environment().remove("MAKEFLAGS");
        if (makeflags != null) {
            pb.environment().put("MAKEFLAGS", makeflags);
        }
        for (int i = 0; i < env.length; i += 2) {
            pb.environment().put(env[i], env[i + 1]);
        }
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(10, TimeUnit.SECONDS));
        return new Result(p.exitValue(), out);
    }

    private static void here(Result r) {
        assertEquals(new Result(0, "here\n"), r, "the line ran here");
    }

    private static void cluster(Result r) {
        assertEquals(255, r.code(), r.out());
        assertTrue(r.out().contains("cannot reach a Gestalt node"), "the line went to the cluster: " + r.out());
    }

    @Test
    void aLineGoesToTheClusterAsGestaltRunWould() throws Exception {
        cluster(sh(null, "true", "echo here"));
        cluster(sh(" -j2", "true", "echo here"));
    }

    @Test
    void aRecursiveMakeOfAPipeJobserverStaysHere() throws Exception {
        // make (up to 4.3; 4.4 with --jobserver-style=pipe) leaves its jobserver's pipe open only
        // in the lines it counts as recursive
        String pipe = "rm -f js && mkfifo js && exec 3<>js 4<>js";
        here(sh(" -j2 --jobserver-auth=3,4", pipe, "echo here"));
        here(sh(" -j2 --jobserver-fds=3,4", pipe, "echo here")); // make before 4.2
        cluster(sh(" -j2 --jobserver-auth=3,4", "true", "echo here")); // closed: not a recursive make
        cluster(sh(" -j2 --jobserver-auth=3,4", "exec 3<" + "/dev/null", "echo here")); // open, but not a pipe
    }

    @Test
    void withANamedJobserverALineThatNamesMakeStaysHere() throws Exception {
        String fifo = " -j2 --jobserver-auth=fifo:/tmp/GMfifo1";
        // (the sub-make itself fails here, quietly: there is no sub/ and no gmake)
        for (String line : List.of("make -C sub all", "cd sub && /usr/bin/make all", "(gmake x)")) {
            here(sh(fifo, "true", "{ " + line + "; } >/dev/null 2>&1; echo here"));
        }
        for (String line : List.of("cc -c make.c; echo here", "cmake .; echo here", "echo here # maker")) {
            cluster(sh(fifo, "true", line));
        }
    }

    @Test
    void gestaltMakeShellNamesTheShellLinesRunIn() throws Exception {
        var r = sh(" -j2 --jobserver-auth=3,4", "rm -f js && mkfifo js && exec 3<>js 4<>js", "echo $0 ${BASH_VERSION:+bash}",
            "GESTALT_MAKE_SHELL", "/bin/bash");
        assertEquals(new Result(0, "/bin/bash bash\n"), r);
    }
}

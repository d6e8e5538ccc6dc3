package dev.gestalt.cli;

import dev.gestalt.command.CommandSpec;
import dev.gestalt.command.ParsedArgs;

import dev.gestalt.cluster.local.LocalCluster;
import dev.gestalt.node.NodeMain;
import dev.gestalt.admin.ClusterInit;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;

/** The commands that run in the CLI process itself: they start or manage nodes. */
final class LocalCommands {

    private LocalCommands() {}

    static int run(CommandSpec spec, ParsedArgs a, Map<String, String> env, PrintStream out, PrintStream err) throws Exception {
        return switch (spec.name()) {
            case "version" -> {
                out.println("gestalt " + Main.VERSION);
                yield 0;
            }
            case "node" -> NodeMain.run(Path.of(a.get("config")), err);
            case "cluster" -> {
                var cluster = new LocalCluster(Paths.home(env), a.get("name", "local"), out, err);
                yield switch (a.positionals().getFirst()) {
                    case "up" -> cluster.up(a.has("nodes") ? a.intValue("nodes", 3, 1, 64) : null, false);
                    case "down" -> cluster.down(a.has("force"));
                    default -> cluster.status(a.has("json"));
                };
            }
            case "init" -> a.has("revoke") ? ClusterInit.revoke(Path.of(a.get("dir")), a.get("revoke"), out, err)
                : a.has("renew") ? ClusterInit.renew(Path.of(a.get("dir")), a.get("nodes"), out, err)
                : ClusterInit.create(Path.of(a.get("dir")), a.get("nodes"), a.get("name", "gestalt"), a.has("remote-root"),
                    out, err);
            case "make" -> { // the launcher runs make itself; here only when its shell was not built
                err.println("gestalt make: make's shell (target/gestalt-sh) is missing; rebuild: mvn package");
                yield 1;
            }
            case "demo" -> new Demo(Paths.home(env), out, err).run(a.intValue("nodes", 3, 1, 64));
            default -> throw new IllegalStateException("not a local command: " + spec.name());
        };
    }
}

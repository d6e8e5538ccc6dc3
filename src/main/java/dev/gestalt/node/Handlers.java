package dev.gestalt.node;

import dev.gestalt.cluster.NodesCommand;
import dev.gestalt.files.FileSpace;
import dev.gestalt.files.FsCommand;
import dev.gestalt.process.AttachCommand;
import dev.gestalt.process.KillCommand;
import dev.gestalt.process.LogsCommand;
import dev.gestalt.process.ProcessSpace;
import dev.gestalt.process.PsCommand;
import dev.gestalt.process.RunCommand;
import dev.gestalt.process.TopCommand;
import dev.gestalt.process.WaitCommand;
import dev.gestalt.process.forall.ForallCommand;
import dev.gestalt.process.placement.WorkingDirectories;
import dev.gestalt.process.remote.Signaller;
import dev.gestalt.rpc.local.CommandHandler;
import java.nio.file.Path;
import java.util.Map;

/** The CLI commands a node serves, by name. */
final class Handlers {

    private Handlers() {}

    /**
     * @param spillDir the daemon's folder for forall output that must wait (see ForallCommand)
     * @param folders  where a working directory is, for run's and forall's placement
     */
    static Map<String, CommandHandler> all(ProcessSpace space, Path spillDir, FileSpace files, WorkingDirectories folders) {
        var signaller = new Signaller(space);
        var run = new RunCommand(space, signaller, folders);
        return Map.of(
            "run", run,
            "ps", new PsCommand(space),
            "kill", new KillCommand(space),
            "wait", new WaitCommand(space),
            "logs", new LogsCommand(space),
            "attach", new AttachCommand(space, signaller),
            "top", new TopCommand(space),
            "nodes", new NodesCommand(space.membership()),
            "forall", new ForallCommand(space, run, signaller, spillDir),
            "fs", new FsCommand(files));
    }
}

package dev.gestalt.node;

import dev.gestalt.cluster.NodesCommand;
import dev.gestalt.files.FileSpace;
import dev.gestalt.files.FsCommand;
import dev.gestalt.process.AttachCommand;
import dev.gestalt.process.CheckpointCommand;
import dev.gestalt.process.checkpoint.CheckpointStore;
import dev.gestalt.process.KillCommand;
import dev.gestalt.process.LogsCommand;
import dev.gestalt.process.DrainCommand;
import dev.gestalt.process.EventsCommand;
import dev.gestalt.process.MigrateCommand;
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
        var checkpoints = new CheckpointStore(files::tree, files::secret);
        return Map.ofEntries(
            Map.entry("run", run),
            Map.entry("ps", new PsCommand(space)),
            Map.entry("kill", new KillCommand(space)),
            Map.entry("wait", new WaitCommand(space)),
            Map.entry("logs", new LogsCommand(space)),
            Map.entry("attach", new AttachCommand(space, signaller)),
            Map.entry("top", new TopCommand(space)),
            Map.entry("nodes", new NodesCommand(space.membership())),
            Map.entry("forall", new ForallCommand(space, run, signaller, spillDir)),
            Map.entry("fs", new FsCommand(files)),
            Map.entry("migrate", new MigrateCommand(space)),
            Map.entry("drain", new DrainCommand(space, true)),
            Map.entry("undrain", new DrainCommand(space, false)),
            Map.entry("checkpoint", new CheckpointCommand(space, checkpoints, CheckpointCommand.Kind.TAKE)),
            Map.entry("checkpoints", new CheckpointCommand(space, checkpoints, CheckpointCommand.Kind.LIST)),
            Map.entry("restart", new CheckpointCommand(space, checkpoints, CheckpointCommand.Kind.RESTART)),
            Map.entry("events", new EventsCommand(space)));
    }
}

package dev.gestalt.process.remote;

import dev.gestalt.process.Gpid;
import dev.gestalt.process.ProcessSpace;
import dev.gestalt.process.supervisor.Job;
import dev.gestalt.process.supervisor.LaunchSpec;
import dev.gestalt.process.supervisor.Moves;
import dev.gestalt.rpc.GestaltException;
import dev.gestalt.rpc.proto.ListRequest;
import dev.gestalt.rpc.proto.MigrateGrpc;
import dev.gestalt.rpc.proto.MoveRequest;
import dev.gestalt.rpc.proto.MovingJob;
import dev.gestalt.rpc.proto.ProcsGrpc;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * A process that goes to another node, moved ({@link MigrateService}) or restarted from its
 * checkpoint ({@link CheckpointService}): what it is for the node that restores it, and the
 * record of where it runs kept by its home node (MOSIX's home-node record).
 */
final class MovingJobs {

    private static final Logger LOG = Logger.getLogger(MovingJobs.class.getName());

    private MovingJobs() {}

    /** What a process is, for the node that restores it (the names of its descriptors come with its checkpoint). */
    static MovingJob describe(Job j) {
        LaunchSpec spec = j.spec();
        return MovingJob.newBuilder().setGpid(spec.gpid())
            .addAllArgv(spec.argv()).setUid(spec.uid()).setGid(spec.gid()).setUser(spec.user())
            .setDetached(spec.detached()).setTty(spec.tty()).setPinned(spec.pinned()).setCwd(spec.cwd().toString()).setMoves(j.moves())
            .setHomeNode(ProcsService.homeOf(spec.gpid())).build();
    }

    /** The names CRIU knows the descriptors of a checkpointed process by, to inherit new ones at its restore. */
    static MovingJob.Builder descriptors(Moves.Checkpoint c) {
        return MovingJob.newBuilder().setStartEpochMillis(c.startMillis()).setStatusPipe(c.statusPipe())
            .setStdinId(c.stdinIds().isEmpty() ? "" : c.stdinIds().getFirst())
            .addAllStdoutIds(c.stdoutIds()).addAllStderrIds(c.stderrIds());
    }

    /** Tells the home node of {@code gpid} that it runs on {@code target} now (moved, or restarted there). */
    static void relocate(ProcessSpace s, String gpid, String target) {
        Gpid id = Gpid.parse(gpid);
        if (id.home() == s.selfId()) {
            s.placed(gpid, target);
            return;
        }
        String home = s.nodeName(id.home());
        if (home == null) {
            return; // its home node is down: a look-up lists the cluster, which finds it on the target
        }
        try {
            MigrateGrpc.newBlockingStub(s.channel(home)).withDeadlineAfter(10, TimeUnit.SECONDS)
                .relocated(MoveRequest.newBuilder().setGpid(gpid).setTarget(target).build());
        } catch (GestaltException | RuntimeException e) {
            LOG.warning("cannot tell " + home + " that " + gpid + " moved to " + target + ": " + e.getMessage()
                + " (a look-up will list the cluster)");
        }
    }

    /** Whether {@code node} lists {@code gpid} as running (asked a few times over ~10 s); false if it cannot say. */
    static boolean runsOn(ProcessSpace s, String node, String gpid) {
        for (int i = 0; i < 5; i++) {
            try {
                var procs = ProcsGrpc.newBlockingStub(s.channel(node))
                    .withDeadlineAfter(2, TimeUnit.SECONDS)
                    .list(ListRequest.newBuilder().addGpids(gpid).setRecordsOnly(true).build());
                return procs.getProcsList().stream().anyMatch(p -> !p.getState().equals("exited"));
            } catch (GestaltException | RuntimeException e) {
                try {
                    Thread.sleep(2000);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
        }
        return false;
    }
}

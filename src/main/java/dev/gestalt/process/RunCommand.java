package dev.gestalt.process;

import dev.gestalt.command.ParsedArgs;
import dev.gestalt.command.Sizes;
import dev.gestalt.process.placement.Placement;
import dev.gestalt.process.placement.PlacementRequest;
import dev.gestalt.process.placement.WorkingDirectories;
import dev.gestalt.process.remote.RemoteExec;
import dev.gestalt.process.remote.Signaller;
import dev.gestalt.rpc.GestaltException;
import dev.gestalt.rpc.local.ClientSession;
import dev.gestalt.rpc.local.CommandHandler;
import dev.gestalt.rpc.local.Request;
import dev.gestalt.rpc.proto.Caller;
import dev.gestalt.rpc.proto.ExecIn;
import dev.gestalt.rpc.proto.ProcessSpec;
import dev.gestalt.rpc.proto.Rlimit;
import dev.gestalt.rpc.proto.WinSize;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * {@code gestalt run} on the home node: place, allocate the GPID, open the
 * stream to the execution node and relay the client's stdio, signals and
 * window size until the exit code.
 */
public final class RunCommand implements CommandHandler {

    /** Stdin bytes the client may have in flight to this node (a few of its 256 KiB frames). */
    static final int STDIN_WINDOW = 1024 * 1024;
    /** What {@link #execute} returns when the execution node did not start the process: it lacks its working directory. */
    private static final int CWD_ABSENT = -1;

    private final ProcessSpace space;
    private final Signaller signaller;

    private final WorkingDirectories folders;

    public RunCommand(ProcessSpace space, Signaller signaller) {
        this(space, signaller, WorkingDirectories.ANYWHERE);
    }

    /** With {@code folders}, a process goes only to a node that has its working directory. */
    public RunCommand(ProcessSpace space, Signaller signaller, WorkingDirectories folders) {
        this.space = space;
        this.signaller = signaller;
        this.folders = folders;
    }

    @Override
    public int handle(ClientSession s) throws Exception {
        Request req = s.request();
        ParsedArgs a = s.args();
        var placementRequest = new PlacementRequest(a.get("node"), a.intValue("cpus", 0, 0, 1_000_000),
            a.has("mem") ? Sizes.parse("run", a.get("mem")) : 0);
        Placement placement = space.place(placementRequest);
        // The working directory: this node checks itself; another node checks as it starts
        // (check_cwd) rather than answer one more round trip before it, and only when it lacks the
        // folder are the nodes asked and the process placed again.
        boolean farCheck = folders.needsCheck(req.cwd()) && !placement.node().equals(space.self());
        if (!farCheck) {
            placement = checkFolder(s, placementRequest, placement);
        }
        if (a.has("explain")) {
            s.err(placement.explanation() + "\n");
        }
        boolean detached = a.has("detach");
        boolean tty = req.tty();
        Gpid gpid = space.newGpid();
        ProcessSpec spec = spec(s, gpid, a.positionals(), tty, detached);
        if (a.has("no-migrate") || a.has("node")) {
            spec = spec.toBuilder().setNoMigrate(a.has("no-migrate")).setPinned(a.has("node")).build();
        }
        if (a.has("checkpoint-every")) {
            spec = spec.toBuilder().setCheckpointEverySeconds(
                (long) Math.ceil(dev.gestalt.command.ForallGrammar.seconds(a.get("checkpoint-every")))).build();
        }
        int code = execute(s, placement.node(), farCheck ? spec.toBuilder().setCheckCwd(true).build() : spec, detached);
        if (code != CWD_ABSENT) {
            return code;
        }
        Placement other = checkFolder(s, placementRequest, placement);
        if (a.has("explain") && !other.node().equals(placement.node())) {
            s.err(placement.node() + " has no folder " + req.cwd() + ": " + other.explanation() + "\n");
        }
        code = execute(s, other.node(), spec, detached);
        return code == CWD_ABSENT ? 255 : code;
    }

    /**
     * {@code placement} if its node has the working directory of {@code s}'s client, else one on a
     * node that has it (see {@link WorkingDirectories}): for run and for each task of forall.
     */
    public Placement checkFolder(ClientSession s, PlacementRequest request, Placement placement)
        throws GestaltException.NoEligibleNode {
        var caller = s.caller();
        return folders.check(placement, request, s.request().cwd(), caller.uid(), caller.gid(),
            caller.groupArray(), space::place); // the caller's groups as the kernel reported them
    }

    /** What the execution node needs to run {@code argv} for the client of {@code s}, as that client. */
    public ProcessSpec spec(ClientSession s, Gpid gpid, List<String> argv, boolean tty, boolean detached) {
        Request req = s.request();
        var caller = s.caller();
        var b = ProcessSpec.newBuilder()
            .setGpid(gpid.toString())
            .addAllArgv(argv)
            .putAllEnv(req.env())
            .setCwd(req.cwd())
            .setCaller(Caller.newBuilder().setUid(caller.uid()).setGid(caller.gid()).setUser(caller.user()))
            .setUmask(req.umask())
            .setTty(tty)
            .setSize(tty && req.cols() == 0 ? WinSize.newBuilder().setCols(80).setRows(24)
                : WinSize.newBuilder().setCols(req.cols()).setRows(req.rows()))
            .setDetached(detached)

            .setHomeNode(space.self());
        // the caller's groups and limits as its own process has them, from the kernel (see PeerCredentials)
        b.addAllGroups(caller.groups());
        for (var l : caller.limits()) {
            b.addLimits(Rlimit.newBuilder().setResource(l.resource()).setSoft(l.soft()).setHard(l.hard()));
        }
        return b.build();
    }

    /**
     * Runs one process on {@code node} for this client; returns its exit code, or {@link #CWD_ABSENT}
     * if the node, asked to check ({@code check_cwd}), lacks its working directory.
     */
    int execute(ClientSession s, String node, ProcessSpec spec, boolean detached) throws Exception {
        var events = new ClientRelay(s);
        var done = events.exit();
        var started = events.started();
        space.placed(spec.getGpid(), node);
        RemoteExec exec;
        try {
            exec = RemoteExec.open(space::channel, node, ExecIn.newBuilder().setStart(spec).build(), false, events);
        } catch (Exception e) {
            space.ended(spec.getGpid());
            throw e;
        }
        space.track(exec);
        try {
            if (spec.getCheckCwd()) {
                // a refused start: nothing of the client's input read, no GPID printed
                CompletableFuture.anyOf(started, done).get();
                if (events.cwdAbsent()) {
                    space.ended(spec.getGpid());
                    return CWD_ABSENT;
                }
            }
            if (detached) {
                int code = done.get();
                if (started.isDone()) {
                    s.out(spec.getGpid() + "\n");
                    return 0;
                }
                space.ended(spec.getGpid());
                return code;
            }
            if (spec.getTty()) {
                started.thenAccept(st -> s.terminal(true));
            }
            InputRelay.start(s, exec, spec.getGpid(), signaller, STDIN_WINDOW);
            int code = done.get();
            space.ended(spec.getGpid());
            return code;
        } finally {
            space.untrack(exec);
        }
    }
}

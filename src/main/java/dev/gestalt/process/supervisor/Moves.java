package dev.gestalt.process.supervisor;

import dev.gestalt.os.Signals;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Logger;

/**
 * The moves of a node's jobs ({@link Supervisor#moves()}): on the node a job leaves, freezing and
 * writing it out with CRIU ({@link #checkpoint}), then letting it run on ({@link #resume}), ending
 * it ({@link #stop}) or letting it go where it now runs ({@link #moved}, {@link #superseded}), its
 * signals following it. On the node it comes to: {@link Restores}.
 */
public final class Moves {
    private static final Logger LOG = Logger.getLogger(Moves.class.getName());
    private static final int MOVED_AWAY_KEPT = 256;

    private final Supervisor supervisor;
    /** The last {@link #MOVED_AWAY_KEPT} jobs that moved to another node (see {@link #movedAway}). */
    private final Map<String, Job> movedAway = new java.util.LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Job> eldest) {
            return size() > MOVED_AWAY_KEPT;
        }
    };

    Moves(Supervisor supervisor) {
        this.supervisor = supervisor;
    }

    /**
     * A job frozen and written out by CRIU, to be restored on another node ({@link Restores#restore}):
     * the names CRIU knows its status pipe and output by, and when it started.
     */
    public record Checkpoint(Job job, String statusPipe, List<String> stdinIds, List<String> stdoutIds, List<String> stderrIds,
                             long startMillis, CriuLazy.LazyDump lazy, long lazyBytes) {
        /** Post-copy: its memory stayed here, to be pulled by the target once it runs there. */
        public boolean postCopy() {
            return lazy != null;
        }

        /** Post-copy: the port of the page server on this node's address; 0 otherwise. */
        public int pagePort() {
            return lazy == null ? 0 : lazy.port();
        }
    }

    /**
     * Post-copy: where this node's page server listens (this node's address), and the TLS options
     * of the move (see MoveKeys).
     */
    public record PageServer(String address, List<String> tls) {}

    /** Why a job cannot move, or null when it can (as far as the daemon knows before CRIU looks). */
    public String cannotMove(Job j) {
        if (!supervisor.privileged) {
            return "the node does not run as root (CRIU needs root)";
        }
        if (!(j instanceof LocalJob l) || !l.isAlive()) {
            return j.gpid() + " has ended";
        }
        if (!j.spec().migratable()) {
            return j.gpid() + " was started with --no-migrate";
        }
        if (!j.spec().detached() && j.detached()) {
            return j.gpid() + " lost its client (hung up): it cannot move";
        }
        if (l.programGone()) {
            return j.gpid() + "'s program has ended (what it left running cannot move)";
        }
        if (j.spec().uid() != 0 && !dev.gestalt.process.migrate.MigrationCheck.dumpsOtherUsers()) {
            return "the node's daemon lacks CAP_SYS_RESOURCE (a container that drops it?): CRIU cannot read the"
                + " limits of another user's process, so only root's processes can move from this node";
        }
        return null;
    }

    /** The anonymous memory of a job's processes (what a move carries), in bytes; 0 when unknown. */
    public long anonymousMemory(Job j) {
        if (!(j instanceof LocalJob l)) {
            return 0;
        }
        long kb = 0;
        for (long pid : Criu.tree(l.rootPid())) {
            try {
                for (String line : java.nio.file.Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                    if (line.startsWith("RssAnon:")) {
                        kb += Long.parseLong(line.substring(8).replace("kB", "").strip());
                    }
                }
            } catch (IOException | RuntimeException e) {
                // ended meanwhile
            }
        }
        return kb << 10;
    }

    /**
     * Why a job cannot move: {@link #cannotMove}, else what in it CRIU could not carry (TCP
     * connections, devices), found without freezing it. Empty when it can move.
     */
    public List<String> moveBlockers(Job j) {
        String why = cannotMove(j);
        if (why != null) {
            return List.of(why);
        }
        long root = ((LocalJob) j).rootPid();
        String terminal = null;
        if (j.spec().tty()) {
            try {
                terminal = java.nio.file.Files.readSymbolicLink(Path.of("/proc", Long.toString(root), "fd", "0")).toString();
            } catch (IOException e) {
                return List.of(j.gpid() + " has ended");
            }
        }
        return MoveBlockers.of(root, terminal);
    }

    /**
     * Freezes a job and writes it to {@code images} (a folder of root's): it stays frozen here
     * until {@link #moved} (restored elsewhere) or {@link #resume} (the move failed). Signals sent
     * to it meanwhile are kept for wherever it then runs, not lost with the frozen copy.
     *
     * @throws IOException with the reason when it cannot be dumped (it runs on, unharmed)
     */
    public Checkpoint checkpoint(String gpid, Path images, PageServer pageServer) throws IOException {
        return checkpoint(gpid, images, pageServer, null);
    }

    /**
     * {@link #checkpoint(String, Path, PageServer)}, its memory sent as it is dumped to the page
     * server of {@code pagesTo} (stop-and-copy: the target's, see {@link Restores#receivePages}) when not null.
     */
    public Checkpoint checkpoint(String gpid, Path images, PageServer pageServer, PageSource pagesTo) throws IOException {
        Job j = supervisor.jobs.get(gpid);
        String why = j == null ? "no process " + gpid + " on this node" : cannotMove(j);
        if (why != null) {
            throw new IOException(why);
        }
        LocalJob l = (LocalJob) j;
        String status = Criu.fdName(l.rootPid(), 4);
        List<String> in = List.of();
        List<String> out;
        List<String> err;
        List<String> external = new ArrayList<>();
        if (j.spec().tty()) { // its terminal, whose master the keeper holds: a new one there, in its place
            String tty = JobTerminal.criuId(l.rootPid());
            external.add(tty);
            in = List.of(tty);
            out = List.of();
            err = List.of();
        } else if (j.spec().detached()) { // its log files, which the keeper opened: external to CRIU, inherited at the restore
            Path logs = supervisor.logDir(gpid);
            out = Criu.externalFiles(l.rootPid(), logs.resolve("stdout"));
            err = Criu.externalFiles(l.rootPid(), logs.resolve("stderr"));
            external.addAll(out);
            external.addAll(err);
        } else { // its pipes to this node's daemon: new ones there, inherited at the restore
            List<String> pipes = l.pipeNames();
            in = pipes.get(0) == null ? List.of() : List.of(pipes.get(0));
            out = pipes.get(1) == null ? List.of() : List.of(pipes.get(1));
            err = pipes.get(2) == null ? List.of() : List.of(pipes.get(2));
        }
        JobJournal.Entry e = supervisor.records.get(gpid);
        l.holdSignals();
        CriuLazy.LazyDump lazy = null;
        try {
            if (pageServer == null) {
                List<String> options = new ArrayList<>();
                if (pagesTo != null) {
                    options.addAll(List.of("--page-server", "--address", pagesTo.address(), "--port",
                        Integer.toString(pagesTo.port())));
                    options.addAll(pagesTo.tls());
                }
                // through the target's page server, the memory went there already: no second try
                Criu.betweenLocks(images, pagesTo == null, () -> {
                    Criu.dump(l.rootPid(), images, external, options);
                    return null;
                });
            } else {
                lazy = Criu.betweenLocks(images, true,
                    () -> CriuLazy.dumpLazy(l.rootPid(), images, external, pageServer.address(), pageServer.tls()));
            }
        } catch (IOException | RuntimeException ex) {
            deliver(l, l.releaseSignals()); // CRIU let it run on
            throw ex;
        }
        if (j.spec().tty()) {
            try {
                JobTerminal.save(l.rootPid(), images); // frozen: its size and modes stay as they are now
            } catch (IOException ex) {
                if (lazy != null) {
                    lazy.abort();
                }
                Criu.resume(l.rootPid());
                deliver(l, l.releaseSignals());
                throw ex;
            }
        }
        return new Checkpoint(j, status, in, out, err, e != null ? e.startMillis() : System.currentTimeMillis(), lazy,
            lazy == null ? 0 : CriuLazy.lazyBytes(images));
    }

    /**
     * Post-copy, after the commit: waits until the target has pulled the memory of the job of
     * {@code c} (or went), at most {@code limit}; CRIU's exit code (0 also when the target went:
     * the target's lazy-pages daemon knows whether all arrived).
     */
    public int pagesServed(Checkpoint c, java.time.Duration limit) {
        return c.lazy() == null ? 0 : c.lazy().end(limit);
    }

    /** What waits unread in the stdin pipe of a job frozen by {@link #checkpoint}, taken out (see LocalJob). */
    public byte[] takeUnreadInput(Checkpoint c) throws IOException {
        return c.job() instanceof LocalJob l ? l.takeUnreadInput() : new byte[0];
    }

    /** A job frozen by {@link #checkpoint} runs on here: its move failed. */
    public void resume(Checkpoint c) {
        if (c.lazy() != null) {
            c.lazy().abort(); // its page server goes (and CRIU lets the tree go)
        }
        if (c.job() instanceof LocalJob l) {
            Criu.resume(l.rootPid());
            deliver(l, l.releaseSignals());
        }
    }

    /**
     * A job frozen by {@link #checkpoint} ends here, killed while still frozen (SIGKILL: 137), its
     * checkpoint holding it now; signals sent to it meanwhile go with it.
     */
    public void stop(Checkpoint c) {
        if (c.lazy() != null) {
            c.lazy().abort();
        }
        if (c.job() instanceof LocalJob l) {
            l.releaseSignals();
            l.signal(Signals.SIGKILL);
        }
    }

    private static void deliver(LocalJob l, List<Integer> signals) {
        signals.forEach(l::signal);
    }

    /**
     * The job of {@code c} runs on {@code node} now: its copy here is killed, without an end
     * (the keeper says G, not X); waiters here learn where it went; its record goes. Signals
     * sent to it while it was frozen, and any sent here later (see {@link #movedAway}), go to
     * {@code forward}, in order, for the caller to send on to {@code node}.
     */
    public void moved(Checkpoint c, String node, SignalForward forward) {
        if (c.job() instanceof LocalJob l) {
            goneTo(l, node, forward);
        }
    }

    /** {@link #moved}, {@link #superseded}: the copy here is killed (G, not X) and forgotten; signals go on. */
    private void goneTo(LocalJob l, String node, SignalForward forward) {
        synchronized (movedAway) {
            movedAway.put(l.gpid(), l);
        }
        supervisor.jobs.remove(l.gpid(), l); // look-ups from now on are answered by the node it runs on now
        supervisor.records.moved(l.gpid(), true);
        l.moved(node, forward);
        Keeper k = supervisor.keeperNow();
        if (k != null) {
            k.moved(l.gpid());
        }
    }

    /**
     * The copy of {@code gpid} here is stale: the process runs on {@code node} (restarted there
     * from a checkpoint while this node was frozen or cut off). Killed without an end (the keeper
     * says G, as for a move: its end is the other copy's), its record goes; signals sent here go
     * on to {@code node}. Returns whether there was such a copy.
     */
    public boolean superseded(String gpid, String node, SignalForward forward) {
        if (!(supervisor.jobs.get(gpid) instanceof LocalJob l) || l.end().isDone()) {
            return false;
        }
        goneTo(l, node, forward);
        return true;
    }

    /**
     * A job that moved from here lately, for a signal that was sent here as it went (the sender
     * looked it up just before): {@link Job#signal} sends it on to where it runs now.
     */
    public Optional<Job> movedAway(String gpid) {
        synchronized (movedAway) {
            return Optional.ofNullable(movedAway.get(gpid));
        }
    }

    /**
     * A page server to connect to (its address and port) and the TLS options of the move (see
     * MoveKeys): post-copy, the source's, for the target's lazy-pages daemon; stop-and-copy, the
     * target's ({@link Restores#receivePages}), for the source's dump.
     */
    public record PageSource(String address, int port, List<String> tls) {}

    /** CRIU's page server of {@link Restores#receivePages}. */
    public interface PageSink {
        String address();

        int port();

        /** Waits for it to end (its dump ended), at most {@code limit}: null when it took all, else why not. */
        String await(java.time.Duration limit);

        /** Ends it (the move ended another way). */
        void kill();
    }
}

package dev.gestalt.process.supervisor;

import dev.gestalt.os.Signals;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.logging.Logger;

/**
 * A daemon (re)connected to its node's keeper takes over the jobs the keeper holds; one that lost
 * the connection connects again, or records the jobs as dead with a keeper that died.
 */
final class Adoption {
    private static final Logger LOG = Logger.getLogger(Supervisor.class.getName()); // the supervisor's lines, as before

    private Adoption() {}

    /**
     * Takes over the jobs a keeper holds: those still running are re-adopted (detached: their
     * clients went with the daemon before), those that ended meanwhile are recorded. A job on
     * record as running that the keeper does not hold died with a keeper that was killed.
     */
    static void adopt(Supervisor s, Keeper k, EarlyEnds early) throws IOException {
        early.adopting(); // ends reported meanwhile wait until the jobs are in the table
        Set<String> held = new HashSet<>();
        int[] running = new int[1];
        try {
            running[0] = adopt(s, k, held);
        } finally {
            early.adopted(s::onProgramEnd, (gpid, code) -> s.onEnd(gpid, code, k));
        }
        if (!held.isEmpty()) {
            LOG.info("re-adopted " + running[0] + " running jobs from the keeper (pid " + k.pid() + "); "
                + (held.size() - running[0]) + " ended meanwhile");
        }
    }

    private static int adopt(Supervisor s, Keeper k, Set<String> held) throws IOException {
        int running = 0;
        for (Keeper.Held h : k.list()) {
            held.add(h.gpid());
            JobJournal.Entry e = s.records.get(h.gpid());
            if (e == null) {
                LOG.warning("the keeper holds " + h.gpid() + ", which has no record: adopted as uid " + h.uid());
            }
            LaunchSpec spec = e != null ? EndedJob.specOf(e)
                : new LaunchSpec(h.gpid(), List.of("?"), Map.of(), Path.of("/"), h.uid(), h.gid(), new int[0],
                    Integer.toString(h.uid()), 022, List.of(), h.tty(), 0, 0, true);
            if (!h.running()) {
                s.onEnd(h.gpid(), h.code(), k);
                continue;
            }
            running++;
            s.records.hungUp(h.gpid());
            LocalJob adopted = new LocalJob(spec, k, h.root(), h.program(), true, s.logDir(h.gpid()), h.stdin(), -1, -1);
            if (h.programCode() >= 0) {
                adopted.programEnded(h.programCode());
            }
            if (s.jobs.put(h.gpid(), adopted) instanceof LocalJob before) {
                // whoever waits on the object from before the loss
                adopted.exit().thenAccept(before::programEnded);
                adopted.end().thenAccept(c -> before.ended(c, System.currentTimeMillis()));
            }
        }
        for (JobJournal.Entry e : s.records.entries()) {
            if (!e.ended() && !held.contains(e.gpid())) {
                LOG.warning("job " + e.gpid() + " ended with the node's keeper (killed): recorded as killed");
                s.onEnd(e.gpid(), ExitStatus.killedBy(Signals.SIGKILL), null); // their parent-death signal
            }
        }
        return running;
    }

    /** The connection to the keeper ended: re-adopt if it still runs; else its jobs died with it. */
    static void keeperLost(Supervisor s) {
        if (s.closed) {
            return;
        }
        synchronized (s) {
            Keeper lost = s.keeper;
            s.keeper = null;
            boolean alive = lost != null && ProcTable.stat(lost.pid()).map(p -> p.state() != 'Z' && p.state() != 'X').orElse(false);
            for (LocalJob j : s.running()) {
                j.release();
                if (!alive && j.isAlive()) {
                    s.onEnd(j.gpid(), ExitStatus.killedBy(Signals.SIGKILL), null); // their parent-death signal
                }
            }
            if (alive) {
                LOG.warning("lost the connection to the node's keeper (pid " + lost.pid() + "): connecting again");
                try {
                    s.keeper();
                } catch (LaunchException e) {
                    LOG.warning("cannot connect to the node's keeper again: " + e.getMessage());
                }
            } else {
                LOG.warning("the node's keeper died: its jobs died with it; the next start starts a new keeper");
            }
        }
    }
}

package dev.gestalt.process.supervisor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;

/**
 * Run in a child JVM by {@link NoOrphansTest}: starts jobs of every kind, prints the keeper's pid,
 * the pid of an attached job that dies of SIGHUP, and every pid of the other jobs' trees on one
 * line ("PIDS KEEPER HUP 1 2 3"), then waits to be killed.
 */
public final class OrphanProbe {
    private OrphanProbe() {}

    public static void main(String[] args) throws Exception {
        Supervisor supervisor = new Supervisor(Path.of(args[0]));
        List<LocalJob> jobs = new ArrayList<>();
        // the attached ones ignore SIGHUP, which they get when their daemon goes (a dropped session)
        jobs.add((LocalJob) supervisor.start(Specs.of("sh", "-c", "trap '' HUP; exec sleep 7301")));
        jobs.add((LocalJob) supervisor.start(Specs.of("sh", "-c", "trap '' HUP; sleep 7302 & setsid sleep 7303 & wait")));
        jobs.add((LocalJob) supervisor.start(Specs.builder("sh", "-c", "trap '' HUP; exec sleep 7304").tty(80, 24).build()));
        jobs.add((LocalJob) supervisor.start(Specs.builder("sleep", "7305").detached().build()));
        LocalJob hangsUp = (LocalJob) supervisor.start(Specs.of("sleep", "7306"));
        Thread.sleep(500); // let the background sleeps start
        StringJoiner pids = new StringJoiner(" ", "PIDS " + supervisor.keeperPid() + " " + hangsUp.pid() + " ", "");
        ProcTable table = ProcTable.read();
        for (LocalJob job : jobs) {
            for (ProcTable.Stat s : table.tree(job.rootPid())) {
                pids.add(Long.toString(s.pid()));
            }
        }
        System.out.println(pids);
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
        supervisor.close();
    }

    static boolean gone(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            return stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
        } catch (java.io.IOException e) {
            return true;
        }
    }
}

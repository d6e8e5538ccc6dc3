package dev.gestalt.process.supervisor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;

/**
 * Run in a child JVM by {@link NoOrphansTest}: starts jobs of every kind, prints every pid of
 * their trees on one line ("PIDS 1 2 3"), then waits to be killed.
 */
public final class OrphanProbe {
    private OrphanProbe() {}

    public static void main(String[] args) throws Exception {
        Supervisor supervisor = new Supervisor(Files.createTempDirectory("gst-probe"));
        List<LocalJob> jobs = new ArrayList<>();
        jobs.add((LocalJob) supervisor.start(Specs.of("sleep", "7301")));
        jobs.add((LocalJob) supervisor.start(Specs.of("sh", "-c", "sleep 7302 & setsid sleep 7303 & wait")));
        jobs.add((LocalJob) supervisor.start(Specs.builder("sleep", "7304").tty(80, 24).build()));
        jobs.add((LocalJob) supervisor.start(Specs.builder("sleep", "7305").detached().build()));
        Thread.sleep(500); // let the background sleeps start
        StringJoiner pids = new StringJoiner(" ", "PIDS ", "");
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

package dev.gestalt.files;

import dev.gestalt.os.ShortCommand;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * One engine daemon the node runs in the foreground as its child (mfsmaster, mfschunkserver,
 * mfsmetalogger, mfsmount): started on demand, restarted by the next {@link #ensureRunning}
 * when it died (with a growing delay after quick deaths, so a daemon that cannot start does
 * not spin), stopped with SIGTERM then SIGKILL. Its pid is kept in a file
 * so that a node restarted after a crash finds and stops what its predecessor left running
 * ({@link #stopLeftover}); a pid is trusted only if that process writes to this daemon's log. Output goes to a log file beside it.
 */
final class EngineProcess {

    private static final Logger LOG = Logger.getLogger(EngineProcess.class.getName());
    /** A daemon that ends sooner than this after its start is restarted with a growing delay. */
    static final Duration QUICK = Duration.ofSeconds(10);

    private final String name;
    private final Path pidFile;
    private final Path log;
    private Process process;
    private long lastStart;
    private long notBefore;
    private int quickDeaths;
    private int starts;

    EngineProcess(String name, Path runDir) {
        this.name = name;
        this.pidFile = runDir.resolve(name + ".pid");
        this.log = runDir.resolve(name + ".log");
    }

    String name() {
        return name;
    }

    synchronized boolean running() {
        return process != null && process.isAlive();
    }

    synchronized Optional<Long> pid() {
        return running() ? Optional.of(process.pid()) : Optional.empty();
    }

    /** Starts the daemon if it is not running; returns true if it started it now. */
    synchronized boolean ensureRunning(List<String> command) throws IOException {
        if (running()) {
            return false;
        }
        long now = System.currentTimeMillis();
        if (process != null) {
            int code = process.exitValue();
            process = null;
            Files.deleteIfExists(pidFile);
            // a daemon that dies soon after its start is restarted at the next round the first
            // time (a mount started beside its master finds it not listening yet), then after
            // 2, 4, 8... up to 32 s, so that it does not spin on a busy machine
            quickDeaths = now - lastStart < QUICK.toMillis() ? quickDeaths + 1 : 0;
            long delay = quickDeaths <= 1 ? 0 : 1000L << Math.min(quickDeaths - 1, 5);
            notBefore = now + delay;
            LOG.warning("file space: " + name + " ended (exit " + code + "); restarting it"
                + (delay > 0 ? " in " + delay / 1000 + " s" : "") + " (see " + log + ")");
        }
        if (now < notBefore) {
            return false;
        }
        lastStart = now;
        starts++;
        process = new ProcessBuilder(command)
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .redirectErrorStream(true)
            .start();
        Files.writeString(pidFile, Long.toString(process.pid()));
        LOG.info("file space: started " + name + " (pid " + process.pid() + ")");
        return true;
    }

    /** How many times it was started by this node. */
    synchronized int starts() {
        return starts;
    }

    /** Sends a signal (e.g. HUP: reload) if it runs. */
    synchronized void signal(String sig) {
        if (running()) {
            run("kill", "-" + sig, Long.toString(process.pid()));
        }
    }

    /** SIGTERM, then SIGKILL after the grace period. */
    synchronized void stop(Duration grace) {
        if (process == null) {
            return;
        }
        Process p = process;
        process = null;
        if (p.isAlive()) {
            p.destroy();
            try {
                if (!p.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
                    LOG.warning("file space: " + name + " did not stop within " + grace.toSeconds() + " s; killing it");
                    p.destroyForcibly();
                    p.waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
            }
            LOG.info("file space: stopped " + name);
        }
        try {
            Files.deleteIfExists(pidFile);
        } catch (IOException e) {
            // left: the next start checks the pid's command line before trusting it
        }
    }

    /** Stops a daemon of this name that a previous run of the node left behind (crash, kill -9). */
    void stopLeftover() {
        long pid;
        try {
            pid = Long.parseLong(Files.readString(pidFile).trim());
        } catch (IOException | NumberFormatException e) {
            return;
        }
        Optional<ProcessHandle> h = ProcessHandle.of(pid);
        if (h.isPresent() && h.get().isAlive() && isOurs(pid)) {
            LOG.info("file space: stopping " + name + " (pid " + pid + ") left by a previous run");
            h.get().destroy();
            try {
                h.get().onExit().get(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                h.get().destroyForcibly();
            }
        }
        try {
            Files.deleteIfExists(pidFile);
        } catch (IOException e) {
            // harmless
        }
    }

    /**
     * Whether the process is this daemon of an earlier run: its stdout is this daemon's log
     * file. (Not its command line or environment: mfsmount overwrites both with its title.)
     */
    private boolean isOurs(long pid) {
        try {
            return Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "fd", "1")).equals(log.toAbsolutePath());
        } catch (IOException e) {
            return false;
        }
    }

    /** Runs a short command, returns its exit code and output (stderr merged), bounded to 60 s. */
    static ShortCommand.Result run(String... cmd) {
        return run(List.of(cmd), Duration.ofSeconds(60));
    }

    static ShortCommand.Result run(List<String> cmd, Duration timeout) {
        return ShortCommand.run(timeout, cmd);
    }
}

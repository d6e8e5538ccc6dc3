package dev.gestalt.cluster.local;

import dev.gestalt.node.NodeConfig;
import dev.gestalt.os.Posix;
import dev.gestalt.os.Signals;
import java.io.File;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * One daemon of a local cluster: start it detached from the terminal, find it, stop it; and its
 * keeper ({@code gestalt-exec --keeper STATE}), which outlives a daemon that dies: a restarted
 * daemon joins the keeper's host (its mount namespace) to re-adopt its jobs, and a stop ends a
 * keeper whose daemon is gone, so no job outlives its cluster.
 */
final class LocalNode {

    private final LocalLayout layout;
    private final int index;

    LocalNode(LocalLayout layout, int index) {
        this.layout = layout;
        this.index = index;
    }

    String name() {
        return LocalLayout.nodeName(index);
    }

    int index() {
        return index;
    }

    Path socket() {
        return layout.socket(index);
    }

    /** The daemon's pid, if its pid file names a live process that is a Gestalt node. */
    Optional<Long> pid() {
        try {
            long pid = Long.parseLong(Files.readString(layout.pidFile(index)).trim());
            return ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
                .filter(h -> commandLine(pid).map(c -> c.contains(layout.config(index).toString())).orElse(true))
                .map(ProcessHandle::pid);
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    /**
     * Whether the process this node's pid file names is alive, whatever its command line says: right
     * after {@link #start} it can still be the launcher's helper on its way to exec the daemon's
     * chain (on a loaded machine for a while), which {@link #pid()} does not recognise yet.
     */
    boolean started() {
        try {
            long pid = Long.parseLong(Files.readString(layout.pidFile(index)).trim());
            return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
        } catch (IOException | NumberFormatException e) {
            return false;
        }
    }

    /**
     * The whole command line of a process. Not {@code ProcessHandle.Info.commandLine()}: on
     * Linux it stops at 4096 bytes, and a daemon's class path (one jar per library, under
     * a long GESTALT_HOME) pushes {@code --config FILE} past that.
     */
    private static Optional<String> commandLine(long pid) {
        return argv(pid).map(a -> String.join(" ", a));
    }

    /** A process's arguments, as /proc has them (NUL-separated). */
    private static Optional<String[]> argv(long pid) {
        try {
            byte[] raw = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"));
            return Optional.of(new String(raw, java.nio.charset.StandardCharsets.UTF_8).split("\0"));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Whether the node answers on its socket. */
    boolean answers() {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket()));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    String state() {
        if (pid().isEmpty()) {
            return "stopped";
        }
        return answers() ? "running" : "starting";
    }

    /**
     * Starts the daemon in its own session (it survives this terminal) with output to node.log;
     * with {@code hosts} (root clusters), on its own host: network and mount namespaces.
     */
    void start(LocalHosts hosts) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(daemonJvmFlags());
        cmd.add("-cp");
        cmd.add(RuntimeCopy.pin(layout.dir().resolve("runtime"), System.getProperty("java.class.path")));
        cmd.add("dev.gestalt.cli.Main");
        cmd.add("node");
        cmd.add("--config");
        cmd.add(layout.config(index).toString());
        if (hosts != null) {
            cmd = hosts.wrap(index, NodeConfig.load(layout.config(index)).files().mount(), keeperPid(), cmd);
        }
        cmd.addFirst("setsid");
        File log = layout.log(index).toFile();
        ownersOnly(log.toPath()); // what the daemon logs (users' commands, paths) is the admin's to read
        var pb = new ProcessBuilder(cmd);
        // The JVM encodes a child's argv and environment in its locale's charset: in a C locale
        // every non-ASCII byte would become '?'. Jobs get the caller's environment, not this one.
        pb.environment().put("LC_ALL", "C.UTF-8");
        Process p = pb
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log))
            .redirectErrorStream(true)
            .start();
        Files.writeString(layout.pidFile(index), Long.toString(p.pid()));
    }

    /** Creates {@code f} readable and writable by its owner alone, or makes it so. */
    static void ownersOnly(Path f) throws IOException {
        var mode = java.nio.file.attribute.PosixFilePermissions.fromString("rw-------");
        try {
            Files.createFile(f, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(mode));
        } catch (java.nio.file.FileAlreadyExistsException e) {
            Files.setPosixFilePermissions(f, mode);
        }
    }

    static List<String> daemonJvmFlags() {
        List<String> flags = new ArrayList<>();
        flags.add("-XX:+UseSerialGC");
        flags.add("-Xmx512m");
        flags.add("-XX:-UsePerfData");
        flags.add("--enable-native-access=ALL-UNNAMED");
        flags.add("--add-exports=java.base/sun.nio.ch=ALL-UNNAMED"); // peer credentials: see PeerCredentials
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (a.startsWith("-Dpty4j.") || a.startsWith("-Dgestalt.")) {
                flags.add(a);
            }
        }
        return flags;
    }

    /**
     * The pid of this node's keeper, if one runs: the process whose command line is
     * {@code gestalt-exec[-VERSION] --keeper STATE_DIR} for this node's state folder.
     */
    Optional<Long> keeperPid() {
        Path state;
        try {
            state = NodeConfig.load(layout.config(index)).stateDir().toAbsolutePath().normalize();
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
        try (var procs = Files.list(Path.of("/proc"))) {
            return procs.map(d -> d.getFileName().toString()).filter(n -> n.chars().allMatch(Character::isDigit))
                .map(Long::parseLong)
                .filter(pid -> argv(pid).filter(a -> a.length >= 3
                    && Path.of(a[0]).getFileName().toString().startsWith("gestalt-exec") && a[1].equals("--keeper")
                    && Path.of(a[2]).toAbsolutePath().normalize().equals(state)).isPresent())
                .findFirst();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /**
     * SIGTERM, then SIGKILL if it has not stopped within the grace period; then the same for a
     * keeper still running (its daemon was gone, or did not stop it): SIGTERM makes it end its
     * jobs. Returns true if the daemon was running.
     */
    boolean stop(long graceMillis) throws InterruptedException {
        Optional<Long> pid = pid();
        pid.ifPresent(p -> end(p, graceMillis));
        keeperPid().ifPresent(k -> end(k, 10_000));
        return pid.isPresent();
    }

    private static void end(long pid, long graceMillis) {
        Posix.kill(pid, Signals.SIGTERM);
        long deadline = System.currentTimeMillis() + graceMillis;
        try {
            while (System.currentTimeMillis() < deadline && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
                Thread.sleep(50);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
            Posix.kill(pid, Signals.SIGKILL);
        }
    }
}

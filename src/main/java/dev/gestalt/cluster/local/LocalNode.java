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

/** One daemon of a local cluster: start it detached from the terminal, find it, stop it. */
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
     * The whole command line of a process. Not {@code ProcessHandle.Info.commandLine()}: on
     * Linux it stops at 4096 bytes, and a daemon's class path (one jar per library, under
     * a long GESTALT_HOME) pushes {@code --config FILE} past that.
     */
    private static Optional<String> commandLine(long pid) {
        try {
            byte[] raw = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"));
            return Optional.of(new String(raw, java.nio.charset.StandardCharsets.UTF_8).replace('\0', ' '));
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
            cmd = hosts.wrap(index, NodeConfig.load(layout.config(index)).files().mount(), cmd);
        }
        cmd.addFirst("setsid");
        File log = layout.log(index).toFile();
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

    static List<String> daemonJvmFlags() {
        List<String> flags = new ArrayList<>();
        flags.add("-XX:+UseSerialGC");
        flags.add("-Xmx512m");
        flags.add("-XX:-UsePerfData");
        flags.add("--enable-native-access=ALL-UNNAMED");
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (a.startsWith("-Dpty4j.") || a.startsWith("-Dgestalt.")) {
                flags.add(a);
            }
        }
        return flags;
    }

    /** SIGTERM, then SIGKILL if it has not stopped within the grace period. Returns true if it was running. */
    boolean stop(long graceMillis) throws InterruptedException {
        Optional<Long> pid = pid();
        if (pid.isEmpty()) {
            return false;
        }
        Posix.kill(pid.get(), Signals.SIGTERM);
        long deadline = System.currentTimeMillis() + graceMillis;
        while (System.currentTimeMillis() < deadline && ProcessHandle.of(pid.get()).map(ProcessHandle::isAlive).orElse(false)) {
            Thread.sleep(50);
        }
        if (ProcessHandle.of(pid.get()).map(ProcessHandle::isAlive).orElse(false)) {
            Posix.kill(pid.get(), Signals.SIGKILL);
        }
        return true;
    }
}

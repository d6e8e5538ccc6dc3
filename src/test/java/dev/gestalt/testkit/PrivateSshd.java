package dev.gestalt.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A private sshd on 127.0.0.1 (a free port, its own host key, a key for root), so that a test can
 * run the same command through {@code ssh} and through {@code gestalt run} and compare what a user
 * sees: ssh is the behaviour Gestalt promises. The same configuration as bench/lib.sh's ssh_up.
 * Needs root and openssh-server (scripts/install-deps installs it).
 */
public final class PrivateSshd implements AutoCloseable {

    private final Path dir;
    private final int port;
    private final long pid;

    private PrivateSshd(Path dir, int port, long pid) {
        this.dir = dir;
        this.port = port;
        this.pid = pid;
    }

    public static PrivateSshd start() {
        try {
            Path dir = Files.createTempDirectory("gestalt-sshd");
            Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
            for (String key : List.of("host_key", "user_key")) {
                check(Procs.exec(30, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir.resolve(key).toString()), "ssh-keygen");
            }
            Files.copy(dir.resolve("user_key.pub"), dir.resolve("authorized_keys"));
            int port;
            try (var s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
                port = s.getLocalPort();
            }
            Files.createDirectories(Path.of("/run/sshd")); // its privilege separation folder
            Files.writeString(dir.resolve("sshd_config"), String.join("\n",
                "ListenAddress 127.0.0.1", "Port " + port, "HostKey " + dir.resolve("host_key"),
                "PidFile " + dir.resolve("sshd.pid"), "AuthorizedKeysFile " + dir.resolve("authorized_keys"),
                "PermitRootLogin prohibit-password", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
                "UsePAM no", "StrictModes no", "UseDNS no", "PrintMotd no", "LogLevel ERROR", "") + "\n");
            check(Procs.exec(30, "/usr/sbin/sshd", "-f", dir.resolve("sshd_config").toString(),
                "-E", dir.resolve("sshd.log").toString()), "sshd");
            Files.writeString(dir.resolve("known_hosts"), "[127.0.0.1]:" + port + " "
                + Files.readString(dir.resolve("host_key.pub")).strip().split(" ", 3)[0] + " "
                + Files.readString(dir.resolve("host_key.pub")).strip().split(" ", 3)[1] + "\n");
            // sshd forks into the background and writes its pid file from there, a moment after
            // its first process returned (CI once read it before: "sshd.pid" missing)
            long pid = Eventually.value(java.time.Duration.ofSeconds(20), "sshd writes its pid file (its log: "
                + dir.resolve("sshd.log") + ")", () -> {
                    try {
                        String t = Files.readString(dir.resolve("sshd.pid")).strip();
                        return t.isEmpty() ? null : Long.parseLong(t);
                    } catch (IOException e) {
                        return null;
                    }
                });
            var sshd = new PrivateSshd(dir, port, pid);
            Eventually.holds(java.time.Duration.ofSeconds(20), "ssh to the private sshd works",
                () -> Procs.exec(20, sshd.command("true").toArray(String[]::new)).exitCode() == 0);
            return sshd;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void check(Procs.Exec r, String what) {
        if (r.exitCode() != 0) {
            throw new AssertionError(what + " failed: " + r.stderr());
        }
    }

    /** {@code ssh [OPTIONS...] root@127.0.0.1 COMMAND} (the remote shell runs COMMAND as one line). */
    public List<String> command(String remoteCommand, String... sshOptions) {
        List<String> c = new ArrayList<>(List.of("ssh", "-F", "/dev/null", "-p", Integer.toString(port),
            "-i", dir.resolve("user_key").toString(), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
            "-o", "UserKnownHostsFile=" + dir.resolve("known_hosts"), "-o", "StrictHostKeyChecking=yes",
            "-o", "LogLevel=ERROR"));
        c.addAll(List.of(sshOptions));
        c.add("root@127.0.0.1");
        c.add(remoteCommand);
        return c;
    }

    @Override
    public void close() {
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroy);
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a temporary folder
        }
    }
}

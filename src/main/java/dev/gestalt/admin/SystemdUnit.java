package dev.gestalt.admin;

import java.nio.file.Path;

/**
 * The systemd unit {@code gestalt init} writes for each node. It runs the daemon from the jars
 * built in {@code /opt/gestalt/target} with a named JDK, never through the {@code ./gestalt}
 * launcher: the launcher builds with Maven when the sources changed, and a service must never
 * build (as root, at boot, from whatever the checkout holds). A missing jar fails the start with
 * a clear "Assertion failed" in {@code systemctl status}. The JIT is the JVM's default (C1 and
 * C2): a daemon runs for months, and C2 makes its streams faster (BENCHMARKS.md).
 */
final class SystemdUnit {

    static final String INSTALL = "/opt/gestalt";

    private SystemdUnit() {}

    /** The {@code java} of the JDK running this command: the admin's JDK, to be found at the same path on the nodes. */
    static Path javaHere() {
        return Path.of(System.getProperty("java.home"), "bin", "java");
    }

    static String text(Path java) {
        String target = INSTALL + "/target";
        return """
            [Unit]
            Description=Gestalt node daemon
            After=network-online.target
            Wants=network-online.target
            # Built beforehand ('%1$s/gestalt --version' builds it); a service never builds.
            AssertPathExists=%2$s/gestalt.jar
            AssertPathExists=%3$s

            [Service]
            # The JDK that ran 'gestalt init'; change the path if it lives elsewhere on this machine.
            ExecStart=%3$s --enable-native-access=ALL-UNNAMED -XX:+UseSerialGC -XX:-UsePerfData \\
              -Dpty4j.preferred.native.folder=%2$s/native -cp %2$s/gestalt.jar:%2$s/lib/* \\
              dev.gestalt.cli.Main node --config /etc/gestalt/node.conf
            # Jobs get their caller's environment; the daemon's own charset must be UTF-8.
            Environment=LC_ALL=C.UTF-8
            KillMode=mixed
            TimeoutStopSec=15
            Restart=on-failure
            RuntimeDirectory=gestalt
            RuntimeDirectoryPreserve=yes

            [Install]
            WantedBy=multi-user.target
            """.formatted(INSTALL, target, java);
    }
}

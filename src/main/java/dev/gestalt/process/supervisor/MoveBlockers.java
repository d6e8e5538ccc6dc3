package dev.gestalt.process.supervisor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What in a running job CRIU could not carry to another node, found from /proc without freezing
 * anything: established TCP connections (their peer would not follow), and devices other than
 * the harmless ones every node has. A job may still fail to dump for a reason not looked at here
 * (CRIU then says which, and the job runs on where it was).
 */
final class MoveBlockers {
    private static final Set<String> DEVICES = Set.of("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom");
    private static final int MAX = 20;

    private MoveBlockers() {}

    /**
     * @param terminal the job's own terminal (its init's stdin), which moves with it (see
     *                 JobTerminal), with {@code /dev/tty}; null when it has none
     */
    static List<String> of(long root, String terminal) {
        Set<String> out = new LinkedHashSet<>();
        Map<String, String> established = new HashMap<>();
        for (String table : List.of("tcp", "tcp6")) {
            readTcp(Path.of("/proc", Long.toString(root), "net", table), established);
        }
        for (long pid : Criu.tree(root)) {
            Path fds = Path.of("/proc", Long.toString(pid), "fd");
            try (var list = Files.newDirectoryStream(fds)) {
                for (Path fd : list) {
                    String target;
                    try {
                        target = Files.readSymbolicLink(fd).toString();
                    } catch (IOException e) {
                        continue; // closed meanwhile
                    }
                    String where = " (pid " + pid + ", fd " + fd.getFileName() + ")";
                    if (target.startsWith("socket:[")) {
                        String conn = established.get(target.substring(8, target.length() - 1));
                        if (conn != null) {
                            out.add("an established TCP connection " + conn + where);
                        }
                    } else if (target.startsWith("/dev/") && !DEVICES.contains(target)
                            && !(terminal != null && (target.equals(terminal) || target.equals("/dev/tty")))) {
                        out.add("the device " + target + " is open" + where);
                    }
                    if (out.size() >= MAX) {
                        return new ArrayList<>(out);
                    }
                }
            } catch (IOException e) {
                // the process ended meanwhile
            }
        }
        return new ArrayList<>(out);
    }

    /** inode -> "LOCAL -> REMOTE" of each established connection (state 01) of a /proc/net/tcp table. */
    private static void readTcp(Path table, Map<String, String> into) {
        try {
            List<String> lines = Files.readAllLines(table);
            for (String line : lines.subList(Math.min(1, lines.size()), lines.size())) {
                String[] f = line.trim().split("\\s+");
                if (f.length > 9 && f[3].equals("01")) {
                    into.put(f[9], address(f[1]) + " -> " + address(f[2]));
                }
            }
        } catch (IOException | RuntimeException e) {
            // no such table (IPv6 off): nothing of it to report
        }
    }

    /**
     * An address of /proc/net/tcp{,6} as people write it: "0100007F:1F90" is 127.0.0.1:8080 (each
     * 32-bit word in the kernel's byte order, little-endian here); IPv6 as [::1]:22, and an
     * IPv4-mapped one (a Java server's) as its IPv4 address.
     */
    static String address(String hex) {
        int colon = hex.indexOf(':');
        String ip = hex.substring(0, colon);
        int port = Integer.parseInt(hex.substring(colon + 1), 16);
        byte[] b = new byte[ip.length() / 2];
        for (int w = 0; w < b.length / 4; w++) {
            long word = Long.parseLong(ip.substring(w * 8, w * 8 + 8), 16);
            for (int i = 0; i < 4; i++) {
                b[w * 4 + i] = (byte) (word >>> (8 * i));
            }
        }
        try {
            var a = java.net.InetAddress.getByAddress(b);
            return a instanceof java.net.Inet6Address ? "[" + a.getHostAddress() + "]:" + port : a.getHostAddress() + ":" + port;
        } catch (java.net.UnknownHostException e) {
            return ip + ":" + port;
        }
    }
}

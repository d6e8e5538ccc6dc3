package dev.gestalt.files;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The name every engine client uses for the master ({@code gestalt-master-CLUSTER}), resolved
 * through one line of {@code /etc/hosts} that the node keeps pointed at the current master.
 * MooseFS's mounts, chunkservers and metaloggers resolve the master's name again whenever a
 * connection fails, so after a failover they all find the new master by themselves, with no
 * proxy in the data path. The file is rewritten in place (same inode): a root local cluster
 * bind-mounts a copy per node over /etc/hosts inside the node's mount namespace.
 */
final class MasterHosts {

    private static final String TAG = "# gestalt file space master (kept by the node daemon)";

    private final Path hosts;
    private final String name;

    MasterHosts(Path hosts, String cluster) {
        this.hosts = hosts;
        this.name = "gestalt-master-" + cluster.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9-]", "-");
    }

    String name() {
        return name;
    }

    /** Points the name at this address; true if the file changed. */
    synchronized boolean point(String address) throws IOException {
        List<String> lines = Files.exists(hosts) ? Files.readAllLines(hosts, StandardCharsets.UTF_8) : List.of();
        List<String> out = new ArrayList<>();
        String wanted = address + " " + name + " " + TAG;
        boolean present = false;
        for (String l : lines) {
            if (l.endsWith(" " + name + " " + TAG)) {
                if (l.equals(wanted) && !present) {
                    out.add(l);
                    present = true;
                }
                continue;
            }
            out.add(l);
        }
        if (present && out.size() == lines.size()) {
            return false;
        }
        if (!present) {
            out.add(wanted);
        }
        Files.writeString(hosts, String.join("\n", out) + "\n", StandardCharsets.UTF_8,
            StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.CREATE);
        return true;
    }
}

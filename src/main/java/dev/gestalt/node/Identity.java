package dev.gestalt.node;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

/**
 * The identity a node's state folder belongs to. The first start records the
 * name and id; later starts refuse a config that names another node, so a
 * copied config cannot make two nodes share GPIDs or logs.
 */
public final class Identity {

    private Identity() {}

    public static void check(Path stateDir, String name, int id) throws IOException {
        Path f = stateDir.resolve("identity");
        if (Files.exists(f)) {
            Properties p = new Properties();
            try (var r = Files.newBufferedReader(f)) {
                p.load(r);
            }
            String n = p.getProperty("name");
            String i = p.getProperty("id");
            if (!name.equals(n) || !String.valueOf(id).equals(i)) {
                throw new IOException("state folder " + stateDir + " belongs to node " + n + " (id " + i
                    + "), not to " + name + " (id " + id + ")");
            }
            return;
        }
        Files.writeString(f, "name=" + name + "\nid=" + id + "\n");
    }
}

package dev.gestalt.files;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.Collection;
import java.util.List;

/**
 * Where this node's MooseFS lives under its state folder ({@code STATE/files/}) and the
 * configuration files the node writes for it. Folders: {@code etc/} (configs: root, readable
 * by the engine's group, as they hold the secret), {@code master/}, {@code metalogger/},
 * {@code chunkserver/} and {@code chunks/} (owned by the engine's user, {@code mfs}, which the
 * daemons switch to), {@code run/} (pids and logs, root only). Every daemon listens only on
 * the node's cluster address; chunkservers authenticate with the secret, clients with a
 * password that is the same secret, and the master exports the tree only to members' addresses.
 */
final class MooseFsLayout {

    static final String USER = "mfs";
    static final Path EMPTY_METADATA = Path.of("/var/lib/mfs/metadata.mfs.empty");

    private final Path root;

    MooseFsLayout(Path stateDir) {
        this.root = stateDir.resolve("files");
    }

    Path root() { return root; }
    Path etc() { return root.resolve("etc"); }
    Path run() { return root.resolve("run"); }
    Path master() { return root.resolve("master"); }
    Path metalogger() { return root.resolve("metalogger"); }
    Path chunkserver() { return root.resolve("chunkserver"); }
    Path chunks() { return root.resolve("chunks"); }
    Path masterCfg() { return etc().resolve("mfsmaster.cfg"); }
    Path exportsCfg() { return etc().resolve("mfsexports.cfg"); }
    Path chunkserverCfg() { return etc().resolve("mfschunkserver.cfg"); }
    Path hddCfg() { return etc().resolve("mfshdd.cfg"); }
    Path metaloggerCfg() { return etc().resolve("mfsmetalogger.cfg"); }
    Path mountCfg() { return etc().resolve("mfsmount.cfg"); }
    Path passwordFile() { return etc().resolve("password"); }
    /** The epoch whose master this node's {@code master/} data is. */
    Path masterEpoch() { return master().resolve("gestalt-epoch"); }

    /** Creates the folders with their owners and modes. */
    void create() throws IOException {
        Files.createDirectories(root);
        Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwxr-xr-x"));
        dir(etc(), "rwxr-x---", "root", USER);
        dir(run(), "rwx------", "root", "root");
        for (Path p : List.of(master(), metalogger(), chunkserver(), chunks())) {
            dir(p, "rwxr-x---", USER, USER);
        }
    }

    private static void dir(Path p, String mode, String user, String group) throws IOException {
        Files.createDirectories(p);
        own(p, user, group);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(mode));
    }

    static void own(Path p, String user, String group) throws IOException {
        var lookup = p.getFileSystem().getUserPrincipalLookupService();
        UserPrincipal u = lookup.lookupPrincipalByName(user);
        GroupPrincipal g = lookup.lookupPrincipalByGroupName(group);
        var view = Files.getFileAttributeView(p, PosixFileAttributeView.class, java.nio.file.LinkOption.NOFOLLOW_LINKS);
        view.setOwner(u);
        view.setGroup(g);
    }

    /** Writes a config file (root:mfs 0640) if its content changed; true if it did. */
    boolean write(Path file, String content) throws IOException {
        if (Files.exists(file) && Files.readString(file).equals(content)) {
            return false;
        }
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(tmp, content, StandardCharsets.UTF_8, StandardOpenOption.TRUNCATE_EXISTING);
        own(tmp, "root", USER);
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r-----"));
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return true;
    }

    static String master(Path data, Path exports, String bind, int port, String secret) {
        return common("mfsmaster", data)
            + "EXPORTS_FILENAME = " + exports + "\n"
            + "MATOML_LISTEN_HOST = " + bind + "\nMATOML_LISTEN_PORT = " + port + "\n"
            + "MATOCS_LISTEN_HOST = " + bind + "\nMATOCS_LISTEN_PORT = " + (port + 1) + "\n"
            + "MATOCL_LISTEN_HOST = " + bind + "\nMATOCL_LISTEN_PORT = " + (port + 2) + "\n"
            + "AUTH_CODE = " + secret + "\n"
            // replicate soon after a start or a failover, and look at every chunk every 30 s
            + "REPLICATIONS_DELAY_INIT = 5\n"
            + "CHUNKS_LOOP_MIN_TIME = 30\n";
    }

    /** One export line per member address: the whole tree, read-write, root stays root, password required. */
    static String exports(Collection<String> addresses, String secret) {
        StringBuilder sb = new StringBuilder("# written by the Gestalt node: cluster members only\n");
        for (String a : addresses) {
            sb.append(a).append("\t/\trw,alldirs,maproot=0:0,password=").append(secret).append('\n');
        }
        return sb.toString();
    }

    static String chunkserver(Path data, Path hdd, String masterHost, String bind, int port, String secret) {
        return common("mfschunkserver", data)
            + "HDD_CONF_FILENAME = " + hdd + "\n"
            + "MASTER_HOST = " + masterHost + "\nMASTER_PORT = " + (port + 1) + "\n"
            + "MASTER_RECONNECTION_DELAY = 1\n"
            + "BIND_HOST = " + bind + "\n"
            + "CSSERV_LISTEN_HOST = " + bind + "\nCSSERV_LISTEN_PORT = " + (port + 3) + "\n"
            + "AUTH_CODE = " + secret + "\n";
    }

    static String metalogger(Path data, String masterHost, String bind, int port) {
        return common("mfsmetalogger", data)
            + "MASTER_HOST = " + masterHost + "\nMASTER_PORT = " + port + "\n"
            + "MASTER_RECONNECTION_DELAY = 1\n"
            + "META_DOWNLOAD_FREQ = 1\n"
            + "BIND_HOST = " + bind + "\n";
    }

    private static String common(String ident, Path data) {
        return "# written by the Gestalt node daemon; rewritten at every start\n"
            + "WORKING_USER = " + USER + "\nWORKING_GROUP = " + USER + "\n"
            + "SYSLOG_IDENT = gestalt-" + ident + "\n"
            + "NICE_LEVEL = 0\n"
            + "DATA_PATH = " + data + "\n";
    }
}

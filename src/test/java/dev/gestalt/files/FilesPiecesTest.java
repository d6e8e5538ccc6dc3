package dev.gestalt.files;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The file space's small pieces: its config keys, mountinfo parsing, the master's hosts line, the no-space cases. */
class FilesPiecesTest {

    @Test
    void configRoundTripsAndDefaults() throws Exception {
        var p = new Properties();
        FilesConfig d = FilesConfig.load(p, "n7");
        assertEquals(FilesConfig.Engine.MOOSEFS, d.engine());
        assertEquals(Path.of("/gestalt"), d.mount());
        assertEquals(List.of("n7"), d.core());
        var c = new FilesConfig(FilesConfig.Engine.SHARED, Path.of("/mnt/nfs"), 3, List.of("a", "b", "c"), 19419);
        p.load(new StringReader(c.render()));
        assertEquals(c, FilesConfig.load(p, "a"));
        assertEquals(2, c.majority());
    }

    @Test
    void badConfigValuesAreRefusedWithTheKey() {
        var p = new Properties();
        p.setProperty("files.engine", "gluster");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> FilesConfig.load(p, "n")).getMessage().contains("files.engine"));
        p.setProperty("files.engine", "moosefs");
        p.setProperty("files.mount", "relative/path");
        assertThrows(IllegalArgumentException.class, () -> FilesConfig.load(p, "n"));
    }

    @Test
    void mountinfoGivesTheTopmostTypeAtAPath() {
        List<String> lines = List.of(
            "72 46 0:42 / / rw,relatime - tmpfs gestalt-node-root rw,mode=755",
            "47 72 0:44 / /gestalt rw,nosuid,nodev,relatime - fuse mfs\\043gestalt-master-x:9421 rw,user_id=0",
            "48 72 0:45 / /my\\040dir rw - nfs4 server:/x rw",
            "49 47 0:46 / /gestalt rw shared:5 - fuse.mfs mfs rw");
        assertEquals(Optional.of("fuse.mfs"), MountPoint.fsTypeAt(lines, "/gestalt"));
        assertEquals(Optional.of("nfs4"), MountPoint.fsTypeAt(lines, "/my dir"));
        assertEquals(Optional.empty(), MountPoint.fsTypeAt(lines, "/elsewhere"));
    }

    @Test
    void theMasterLineIsKeptInPlace(@TempDir Path dir) throws Exception {
        Path hosts = dir.resolve("hosts");
        Files.writeString(hosts, "127.0.0.1 localhost\n::1 localhost\n");
        Object inode = Files.getAttribute(hosts, "unix:ino");
        var h = new MasterHosts(hosts, "My_Cluster");
        assertEquals("gestalt-master-my-cluster", h.name());
        assertTrue(h.point("10.1.2.3"));
        assertFalse(h.point("10.1.2.3"), "unchanged");
        assertTrue(h.point("10.1.2.4"));
        List<String> lines = Files.readAllLines(hosts);
        assertEquals("127.0.0.1 localhost", lines.get(0));
        assertEquals(3, lines.size());
        assertTrue(lines.get(2).startsWith("10.1.2.4 gestalt-master-my-cluster "));
        assertEquals(inode, Files.getAttribute(hosts, "unix:ino"), "rewritten in place (a bind mount follows the inode)");
    }

    @Test
    void aNodeWithoutRootOrEngineHasNoFileSpaceAndSaysWhy() {
        var cfg = FilesConfig.moosefs(List.of("n1"));
        FsStatus s = FileSpace.of(cfg, "n1", "c", "127.0.0.1", Path.of("/nonexistent"), false).status();
        assertEquals("none", s.health());
        assertTrue(s.detail().contains("not run as root"), s.detail());
        FsStatus off = FileSpace.of(cfg.withEngine(FilesConfig.Engine.NONE), "n1", "c", "127.0.0.1", Path.of("/x"), true).status();
        assertTrue(off.detail().contains("files.engine = none"), off.detail());
    }
}

package dev.gestalt.process.supervisor;

import dev.gestalt.os.Posix;
import dev.gestalt.os.ShortCommand;
import dev.gestalt.os.Signals;
import dev.gestalt.process.migrate.MigrationCheck;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Logger;

/**
 * CRIU as a node runs it on its jobs, with the options verified in docs/PROC-DESIGN.md §5.4: the
 * dump of a job's tree from its init, left stopped (resumed if the move fails), every mount of the
 * node taken as external; the restore command the keeper runs as its own child, in a mount
 * namespace of its own (slave of the node's), with the job's new descriptors inherited. Both run
 * in the node's namespaces, which are the daemon's.
 */
final class Criu {
    private static final Logger LOG = Logger.getLogger(Criu.class.getName());
    static final Duration DUMP_TIMEOUT = Duration.ofMinutes(5);

    private Criu() {}

    static Path binary() throws IOException {
        return MigrationCheck.criu().orElseThrow(() -> new IOException(
            "CRIU is not installed (scripts/install-deps installs CRIU 4.2 as /opt/gestalt/bin/criu)"));
    }

    /**
     * Freezes the tree of {@code root} and writes it to {@code images} (dump.log there says how);
     * the tree stays frozen: {@link #resume} or kill it.
     *
     * @throws IOException with CRIU's reason when the dump failed (the tree is resumed then)
     */
    static void dump(long root, Path images, java.util.Collection<String> externalFiles, List<String> options)
            throws IOException {
        List<String> cmd = new ArrayList<>(List.of(binary().toString(), "dump", "-t", Long.toString(root), "-D",
            images.toString(), "-o", "dump.log", "--leave-stopped", "--ext-mount-map", "auto", "--enable-external-sharing",
            "--enable-external-masters"));
        for (String f : externalFiles) {
            cmd.add("--external");
            cmd.add(f);
        }
        cmd.addAll(options);
        ShortCommand.Result r = ShortCommand.run(DUMP_TIMEOUT, cmd);
        if (r.code() != 0) {
            resume(root);
            throw new IOException("criu dump failed: " + error(images.resolve("dump.log"), r));
        }
    }

    /**
     * The command the keeper runs to restore a job dumped by {@link #dump}: its status pipe as
     * fd 3, and its output as fds 5 and 6 (see src/main/c/keeper.c).
     *
     * @param ids for the status pipe, stdin, stdout and stderr, the names CRIU knows them by in
     *            the images (none: nothing to inherit, such as /dev/null, reopened by path)
     * @param stdinFromNull stdin's ids get the restorer's own stdin (/dev/null, keeper-restore.c):
     *            a process checkpointed while attached to its client (stdin a pipe from it)
     *            restarts detached, reading nothing
     */
    static List<String> restoreCommand(Path images, List<List<String>> ids, boolean lazy, boolean stdinFromNull)
            throws IOException {
        List<String> cmd = new ArrayList<>(List.of(unshare(), "--mount", "--propagation", "slave", "--",
            binary().toString(), "restore", "-D", images.toString(), "-o", "restore.log", "-d", "-S",
            "--pidfile", images.resolve("restored.pid").toString(), "--root", "/", "--ext-mount-map", "auto",
            "--leave-stopped")); // it runs only once checked and committed (Restored#commit): not before
        if (lazy) {
            cmd.add("--lazy-pages"); // its memory comes from the lazy-pages daemon, which waits in images
        }
        for (int i = 0; i < ids.size(); i++) {
            for (String id : ids.get(i)) {
                cmd.add("--inherit-fd");
                cmd.add("fd[" + (i == 1 && stdinFromNull ? 0 : 3 + i) + "]:" + id);
            }
        }
        return cmd;
    }

    private static String unshare() throws IOException {
        for (String dir : List.of("/usr/bin", "/bin", "/usr/sbin", "/sbin")) {
            Path p = Path.of(dir, "unshare");
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        throw new IOException("unshare (util-linux) is not installed");
    }

    /** What a descriptor of a process is, as CRIU names it: pipe:[INODE], or a path without its '/'. */
    static String fdName(long pid, int fd) throws IOException {
        String target = Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "fd", Integer.toString(fd))).toString();
        return target.startsWith("/") ? target.substring(1) : target;
    }

    /**
     * The files at {@code path} that processes of the tree of {@code root} hold open, as CRIU's
     * external files ({@code file[MNT_ID:INODE]}, hex): a job's log files, which the keeper opens,
     * in the node's mount namespace, not the job's, once the job was restored; CRIU cannot find
     * such a file's mount among the job's, and takes it as external, inherited at the restore.
     */
    static List<String> externalFiles(long root, Path path) {
        java.util.Set<String> out = new java.util.LinkedHashSet<>();
        for (long pid : tree(root)) {
            Path fds = Path.of("/proc", Long.toString(pid), "fd");
            try (var list = Files.newDirectoryStream(fds)) {
                for (Path fd : list) {
                    try {
                        if (!Files.readSymbolicLink(fd).equals(path)) {
                            continue;
                        }
                        long ino = ((Number) Files.getAttribute(fd, "unix:ino")).longValue();
                        String mnt = null;
                        for (String l : Files.readAllLines(Path.of("/proc", Long.toString(pid), "fdinfo", fd.getFileName().toString()))) {
                            if (l.startsWith("mnt_id:")) {
                                mnt = l.substring(7).strip();
                            }
                        }
                        if (mnt != null) {
                            out.add("file[" + Long.toHexString(Long.parseLong(mnt)) + ":" + Long.toHexString(ino) + "]");
                        }
                    } catch (IOException | RuntimeException e) {
                        // closed meanwhile
                    }
                }
            } catch (IOException e) {
                // the process ended meanwhile
            }
        }
        return new ArrayList<>(out);
    }

    /** A descriptor of a process of the tree of {@code root} that is {@code name} (see {@link #fdName}), or null. */
    static Path holder(long root, String name) {
        for (long pid : tree(root)) {
            try (var list = Files.newDirectoryStream(Path.of("/proc", Long.toString(pid), "fd"))) {
                for (Path fd : list) {
                    try {
                        if (Files.readSymbolicLink(fd).toString().equals(name)) {
                            return fd;
                        }
                    } catch (IOException e) {
                        // closed meanwhile
                    }
                }
            } catch (IOException e) {
                // the process ended meanwhile
            }
        }
        return null;
    }

    /**
     * SIGCONT to every process of the tree of {@code root} (left stopped by a dump or a restore),
     * children before their parents: a parent that ran on first would find its child stopped (a
     * job-control shell then takes its foreground job for stopped: "[1]+ Stopped"); once the child
     * runs again before it looks, the stop is not reported.
     */
    static void resume(long root) {
        for (long pid : tree(root).reversed()) {
            Posix.kill(pid, Signals.SIGCONT);
        }
    }

    /**
     * Why the restored tree of {@code root} (left stopped) is not what the checkpoint claimed, or
     * null: every process must run as {@code uid} (real, effective, saved, filesystem) and, unless
     * that is root, with no capabilities. A checkpoint comes from another node, and CRIU restores
     * the identity written in it: the kernel's view of what it restored is what counts.
     */
    static String wrongIdentity(long root, int uid) {
        for (long pid : tree(root)) {
            try {
                for (String l : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                    String[] f = l.split("\\s+");
                    if (f[0].equals("Uid:")) {
                        for (int i = 1; i < f.length; i++) {
                            if (Long.parseLong(f[i]) != (uid & 0xFFFF_FFFFL)) {
                                return "its process " + pid + " runs as uid " + f[i] + ", not " + uid;
                            }
                        }
                    } else if (uid != 0 && (f[0].equals("CapPrm:") || f[0].equals("CapEff:") || f[0].equals("CapAmb:"))
                            && Long.parseUnsignedLong(f[1], 16) != 0) {
                        return "its process " + pid + " has capabilities (" + l.strip() + ")";
                    }
                }
            } catch (IOException | RuntimeException e) {
                // ended meanwhile
            }
        }
        return null;
    }

    /** {@code root} and its descendants, parents first. */
    static List<Long> tree(long root) {
        List<Long> out = new ArrayList<>();
        ArrayDeque<Long> todo = new ArrayDeque<>(List.of(root));
        while (!todo.isEmpty() && out.size() < 100_000) {
            long pid = todo.poll();
            out.add(pid);
            try (var tasks = Files.newDirectoryStream(Path.of("/proc", Long.toString(pid), "task"))) {
                for (Path t : tasks) {
                    for (String c : Files.readString(t.resolve("children")).trim().split("\\s+")) {
                        if (!c.isEmpty()) {
                            todo.add(Long.parseLong(c));
                        }
                    }
                }
            } catch (IOException | RuntimeException e) {
                // gone meanwhile
            }
        }
        return out;
    }

    /** CRIU's last error in its log, else its own last line. */
    static String error(Path log, ShortCommand.Result r) {
        String e = lastError(log);
        if (e != null) {
            return e;
        }
        String last = r == null ? "" : r.lastLine();
        return last.isEmpty() ? "exit " + (r == null ? "?" : r.code()) : last;
    }

    /**
     * Why a dump failed when the process held a file lock (flock, fcntl) as it was frozen: CRIU
     * does not take such a process (its --file-locks would restore the lock on the target while
     * the frozen copy here still holds it). Locks are mostly brief (SQLite holds one per
     * transaction): the dump is tried again (Moves).
     */
    static final String LOCK_HELD = "it held a file lock (flock or fcntl) as it was frozen";

    /** How often a dump is tried when the process held a file lock each time (see {@link #LOCK_HELD}), 0.1 s, 0.2 s, ... apart. */
    static final int LOCK_TRIES = 5;

    /** A dump (CRIU's, into {@code images}), which may be tried again. */
    @FunctionalInterface
    interface Dump<T> {
        T run() throws IOException;
    }

    /**
     * {@code dump}, tried again (at most {@link #LOCK_TRIES} times, when {@code again}: nothing of
     * it left this node) while it fails because the process held a file lock as it was frozen:
     * CRIU let it run on, and most locks are brief.
     */
    static <T> T betweenLocks(Path images, boolean again, Dump<T> dump) throws IOException {
        for (int attempt = 1; ; attempt++) {
            try {
                return dump.run();
            } catch (IOException e) {
                boolean locked = String.valueOf(e.getMessage()).endsWith(LOCK_HELD);
                if (!locked) {
                    throw e;
                }
                if (!again || attempt >= LOCK_TRIES) {
                    throw new IOException(LOCK_HELD + (again ? ", " + attempt + " times in a row" : "")
                        + ": a process moves between its locks, not while it holds one");
                }
                LOG.info("the dump of " + images.getFileName() + " found a file lock held (try " + attempt + " of " + LOCK_TRIES
                    + "): again in " + 100 * attempt + " ms");
                try (var files = Files.list(images)) {
                    for (Path f : files.toList()) {
                        Files.deleteIfExists(f);
                    }
                }
                try {
                    Thread.sleep(100L * attempt);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            }
        }
    }

    /**
     * What a CRIU log says went wrong: its last "Error (file:line): ..." line that says more than
     * "Dumping FAILED." (CRIU's summary, which follows the cause), else that summary; null when
     * there is none.
     */
    static String lastError(Path log) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            String summary = null;
            for (int i = lines.size() - 1; i >= 0; i--) {
                String l = lines.get(i);
                int at = l.indexOf("Error (");
                if (at >= 0) {
                    int end = l.indexOf("): ", at);
                    String m = end > 0 ? l.substring(end + 3).strip() : l.substring(at).strip();
                    if (m.startsWith("Some file locks are hold by dumping tasks")) {
                        return LOCK_HELD;
                    }
                    if (!m.endsWith("FAILED.")) {
                        return m;
                    }
                    summary = summary == null ? m : summary;
                }
            }
            return summary;
        } catch (NoSuchFileException e) {
            // CRIU did not get as far as its log
        } catch (IOException e) {
            // the log cannot be read: its exit says what there is
        }
        return null;
    }
}

package dev.gestalt.process.checkpoint;

import dev.gestalt.rpc.proto.CheckpointMeta;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * The cluster's checkpoints: one sealed file each ({@link Sealed}), {@code NAME.ckpt} in
 * {@code TREE/.gestalt/checkpoints}, a folder of root's alone (0700) in the file space, which
 * keeps its copies on other nodes: a node that dies takes none of them with it. NAME is the
 * process's GPID and a number ({@code 1-17.2}). Users reach theirs only through the daemon.
 */
public final class CheckpointStore {

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_:-]{1,128}\\.[0-9]{1,9}");
    private static final Pattern FILE = Pattern.compile("[A-Za-z0-9_.-]{1,64}");
    private static final String SUFFIX = ".ckpt";
    /** The most a checkpoint may unpack to (what a process's memory and log could be). */
    private static final long MAX_UNPACKED = 64L << 30;
    /** Room left free beside a checkpoint written or unpacked: a full disk helps nobody. */
    static final long MARGIN = 64L << 20;

    private final Supplier<Optional<Path>> tree;
    private final Supplier<Optional<String>> secret;

    /**
     * @param tree   the file space's path on this node, when it has one
     * @param secret the cluster's secret the key is derived from, once the cluster has one
     */
    public CheckpointStore(Supplier<Optional<Path>> tree, Supplier<Optional<String>> secret) {
        this.tree = tree;
        this.secret = secret;
    }

    /** One listed checkpoint: its description, and its size on disk. */
    public record Entry(CheckpointMeta meta, long bytes) {}

    public static boolean validName(String name) {
        return NAME.matcher(name).matches();
    }

    private Path dir() throws IOException {
        Path t = tree.get().orElseThrow(() -> new IOException(
            "checkpoints are kept in the file space, and this node has none (gestalt fs status)"));
        Object dev = Files.getAttribute(t, "unix:dev");
        if (t.getParent() != null && dev.equals(Files.getAttribute(t.getParent(), "unix:dev"))) {
            throw new IOException("the file space is not mounted on this node yet (gestalt fs status)"); // else kept here alone
        }
        Path d = t.resolve(".gestalt").resolve("checkpoints");
        if (!Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS)) {
            for (Path p : List.of(t.resolve(".gestalt"), d)) {
                try {
                    Files.createDirectory(p, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
                } catch (java.nio.file.FileAlreadyExistsException e) {
                    // made by another node meanwhile
                }
            }
        }
        if (Files.isSymbolicLink(d) || Files.isSymbolicLink(d.getParent())) {
            throw new IOException(d + " is a symbolic link: checkpoints are not kept there");
        }
        return d;
    }

    private byte[] key() throws IOException {
        return secret.get().orElseThrow(() -> new IOException(
            "the cluster has not decided its file space yet (gestalt fs status): no checkpoint key"))
            .getBytes(StandardCharsets.UTF_8);
    }

    /** The name the next checkpoint of {@code gpid} gets. */
    public String nextName(String gpid) throws IOException {
        int last = 0;
        try (var files = Files.list(dir())) {
            for (Path f : files.toList()) {
                String n = f.getFileName().toString();
                if (n.startsWith(gpid + ".") && n.endsWith(SUFFIX)) {
                    try {
                        last = Math.max(last, Integer.parseInt(n.substring(gpid.length() + 1, n.length() - SUFFIX.length())));
                    } catch (NumberFormatException e) {
                        // not one of ours
                    }
                }
            }
        }
        return gpid + "." + (last + 1);
    }

    /**
     * Seals {@code meta} and the files of {@code images} (regular files, by name; not CRIU's
     * logs) into the checkpoint {@code meta.name}. Returns its size.
     */
    public long write(CheckpointMeta meta, Path images) throws IOException {
        Path d = dir();
        long need;
        try (var list = Files.list(images)) {
            need = list.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).mapToLong(p -> p.toFile().length()).sum();
        }
        roomFor(d, need, "the file space");
        Path target = d.resolve(meta.getName() + SUFFIX);
        Path tmp = d.resolve("." + meta.getName() + ".part-" + ProcessHandle.current().pid());
        try {
            try (var raw = Files.newOutputStream(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                    LinkOption.NOFOLLOW_LINKS);
                 var sealed = new Sealed.Writer(new BufferedOutputStream(raw, 1 << 16), key(), meta.toByteArray());
                 var out = new DataOutputStream(sealed)) {
                List<Path> files;
                try (var list = Files.list(images)) {
                    files = list.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS))
                        .filter(p -> !p.getFileName().toString().endsWith(".log"))
                        .sorted(Comparator.comparing(Path::toString)).toList();
                }
                for (Path f : files) {
                    put(out, f.getFileName().toString(), f);
                }
                out.writeUTF(""); // the end
            }
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            return Files.size(target);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static void put(DataOutputStream out, String name, Path f) throws IOException {
        if (!FILE.matcher(name).matches()) {
            throw new IOException("a checkpoint file named " + name);
        }
        try (InputStream in = Files.newInputStream(f, LinkOption.NOFOLLOW_LINKS)) {
            out.writeUTF(name);
            out.writeLong(Files.size(f));
            long copied = in.transferTo(out);
            if (copied != Files.size(f)) {
                throw new IOException(f + " changed while it was sealed");
            }
        }
    }

    /** The description of {@code name}, or why it cannot be read. */
    public CheckpointMeta meta(String name) throws IOException {
        Path f = file(name);
        // the file is a resource of its own: a reader that fails on its header closes nothing
        try (var raw = Files.newInputStream(f, LinkOption.NOFOLLOW_LINKS);
             var in = new Sealed.Reader(new BufferedInputStream(raw), key())) {
            return CheckpointMeta.parseFrom(in.first());
        } catch (java.io.EOFException e) {
            throw new IOException("the checkpoint is cut short", e); // shorter than its own header
        }
    }

    /** Unpacks {@code name} into {@code into} (an empty folder of root's); its description. */
    public CheckpointMeta unpack(String name, Path into) throws IOException {
        Path f = file(name);
        roomFor(into, Files.size(f), "this node's state folder"); // about its size unpacked
        try (var raw = Files.newInputStream(f, LinkOption.NOFOLLOW_LINKS);
             var sealed = new Sealed.Reader(new BufferedInputStream(raw), key());
             var in = new DataInputStream(sealed)) {
            CheckpointMeta meta = CheckpointMeta.parseFrom(sealed.first());
            long total = 0;
            for (String n = in.readUTF(); !n.isEmpty(); n = in.readUTF()) {
                long size = in.readLong();
                total += size;
                if (!FILE.matcher(n).matches() || n.startsWith(".") || size < 0 || total > MAX_UNPACKED) {
                    throw new IOException("checkpoint " + name + " is damaged");
                }
                try (var out = Files.newOutputStream(into.resolve(n), StandardOpenOption.CREATE_NEW,
                        StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
                    long left = size;
                    byte[] buf = new byte[1 << 16];
                    while (left > 0) {
                        int k = in.read(buf, 0, (int) Math.min(buf.length, left));
                        if (k < 0) {
                            throw new IOException("checkpoint " + name + " is cut short");
                        }
                        out.write(buf, 0, k);
                        left -= k;
                    }
                }
            }
            if (in.read() >= 0) {
                throw new IOException("checkpoint " + name + " is damaged");
            }
            return meta;
        } catch (java.io.EOFException e) {
            throw new IOException("checkpoint " + name + " is cut short", e);
        }
    }

    /** Every checkpoint, oldest first; those that cannot be read are listed by {@code damaged}. */
    public List<Entry> list(List<String> damaged) throws IOException {
        return list(damaged, null);
    }

    /** {@link #list(List)}, of one process's checkpoints only ({@code gpid}; null: all). */
    public List<Entry> list(List<String> damaged, String gpid) throws IOException {
        List<Entry> out = new ArrayList<>();
        try (var files = Files.list(dir())) {
            for (Path f : files.sorted().toList()) {
                String n = f.getFileName().toString();
                if (!n.endsWith(SUFFIX) || !validName(n.substring(0, n.length() - SUFFIX.length()))) {
                    continue;
                }
                String name = n.substring(0, n.length() - SUFFIX.length());
                if (gpid != null && !name.startsWith(gpid + ".")) {
                    continue;
                }
                try {
                    out.add(new Entry(meta(name), Files.size(f)));
                } catch (IOException e) {
                    damaged.add(name + ": " + e.getMessage());
                }
            }
        }
        out.sort(Comparator.comparingLong(e -> e.meta().getCreatedEpochMillis()));
        return out;
    }

    /** How many checkpoints taken by hand (not periodic ones) of user {@code uid}'s processes are kept. */
    public long keptBy(int uid) throws IOException {
        return list(new ArrayList<>()).stream().filter(e -> !e.meta().getPeriodic() && e.meta().getJob().getUid() == uid).count();
    }

    /**
     * Refuses, before a byte is written, a checkpoint of {@code bytes} that would leave less than
     * {@link #MARGIN} free where it goes (the process it would be made of, or restored into, is left as it is).
     */
    static void roomFor(Path where, long bytes, String what) throws IOException {
        long free = Files.getFileStore(where).getUsableSpace();
        if (free < bytes + MARGIN) {
            throw new IOException(what + " has " + mb(free) + " free; the checkpoint needs " + mb(bytes)
                + " (and " + mb(MARGIN) + " left free)");
        }
    }

    private static String mb(long bytes) {
        return (bytes >> 20) + " MiB";
    }

    public void remove(String name) throws IOException {
        Files.delete(file(name));
    }

    private Path file(String name) throws IOException {
        if (!validName(name)) {
            throw new java.nio.file.NoSuchFileException(name);
        }
        Path f = dir().resolve(name + SUFFIX);
        if (!Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) {
            throw new java.nio.file.NoSuchFileException(name);
        }
        return f;
    }
}

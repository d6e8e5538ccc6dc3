package dev.gestalt.cluster.local;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Pins the jars of a class path into {@code ROOT/<digest>/}: daemons run from
 * the pinned copy, so a rebuild of Gestalt (or a {@code mvn clean}) under a
 * running cluster cannot pull classes from under it. Older copies beyond the
 * newest {@value #KEEP} are removed.
 */
final class RuntimeCopy {

    static final int KEEP = 3;

    private RuntimeCopy() {}

    static String pin(Path root, String classPath) throws IOException {
        List<Path> jars = new ArrayList<>();
        for (String e : classPath.split(File.pathSeparator)) {
            if (!e.isEmpty()) {
                jars.add(Path.of(e).toAbsolutePath());
            }
        }
        Path dir = root.resolve(digest(jars));
        if (!Files.isDirectory(dir)) {
            Path tmp = Files.createDirectories(root).resolve(dir.getFileName() + ".tmp" + ProcessHandle.current().pid());
            Files.createDirectories(tmp);
            int i = 0;
            for (Path j : jars) {
                Path to = tmp.resolve(String.format("%03d-%s", i++, j.getFileName()));
                // a copy, not a hard link: Maven rewrites jars in place, which a link would follow
                Files.copy(j, to, StandardCopyOption.REPLACE_EXISTING);
            }
            try {
                Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
            } catch (FileAlreadyExistsException e) {
                // another 'cluster up' pinned the same jars first
            }
        }
        prune(root, dir);
        List<String> out = new ArrayList<>();
        try (var s = Files.list(dir)) {
            s.sorted().forEach(p -> out.add(p.toString()));
        }
        return String.join(File.pathSeparator, out);
    }

    /** Removes all but the newest KEEP copies (a node still running from a removed copy keeps its open jars). */
    private static void prune(Path root, Path current) throws IOException {
        List<Path> dirs;
        try (var s = Files.list(root)) {
            dirs = new ArrayList<>(s.filter(Files::isDirectory).filter(p -> !p.equals(current)).toList());
        }
        dirs.sort(java.util.Comparator.comparing((Path p) -> p.toFile().lastModified()).reversed());
        for (Path old : dirs.subList(Math.min(dirs.size(), KEEP - 1), dirs.size())) {
            try (var files = Files.walk(old)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    private static String digest(List<Path> jars) throws IOException {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (Path j : jars) {
                md.update(j.getFileName().toString().getBytes());
                try (InputStream in = Files.newInputStream(j)) {
                    in.transferTo(new java.security.DigestOutputStream(java.io.OutputStream.nullOutputStream(), md));
                }
            }
            return HexFormat.of().formatHex(md.digest(), 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}

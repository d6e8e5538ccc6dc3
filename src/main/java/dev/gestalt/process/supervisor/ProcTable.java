package dev.gestalt.process.supervisor;

import dev.gestalt.os.Posix;

import java.io.FileInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/** Reads processes from {@code /proc}: one pass gives every process and the parent links. */
final class ProcTable {
    private static final Path PROC = Path.of("/proc");
    static final long CLK_TCK = Posix.sysconf(2);
    static final long PAGE_SIZE = Posix.sysconf(30);
    private static final long BOOT_MILLIS = bootMillis();
    private static final Map<Integer, String> USER_NAMES = new ConcurrentHashMap<>();

    /** The fields of /proc/PID/stat we use; times in clock ticks, rss in pages. */
    record Stat(long pid, long ppid, long pgrp, char state, long utime, long stime,
                long cutime, long cstime, long startTicks, long rssPages, String comm) {
        long ownTicks() {
            return utime + stime;
        }

        long ticksWithChildren() {
            return utime + stime + cutime + cstime;
        }
    }

    private final Map<Long, Stat> byPid;
    private final Map<Long, List<Long>> children = new HashMap<>();

    private ProcTable(Map<Long, Stat> byPid) {
        this.byPid = byPid;
        for (Stat s : byPid.values()) {
            children.computeIfAbsent(s.ppid(), k -> new ArrayList<>()).add(s.pid());
        }
    }

    /** Reads every process now. */
    static ProcTable read() {
        Map<Long, Stat> all = new HashMap<>();
        byte[] buf = new byte[STAT_BUFFER];
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(PROC, p -> isNumber(p.getFileName().toString()))) {
            for (Path dir : dirs) {
                Stat s = stat(Long.parseLong(dir.getFileName().toString()), buf);
                if (s != null) {
                    all.put(s.pid(), s);
                }
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return new ProcTable(all);
    }

    /**
     * Reads {@code roots} and their descendants only (through each thread's children list): what
     * the jobs of a node are, without a pass over every process of the machine, which on a
     * machine shared by several nodes, or by other work, holds many more.
     */
    static ProcTable readTrees(Iterable<Long> roots) {
        Map<Long, Stat> found = new HashMap<>();
        byte[] buf = new byte[STAT_BUFFER];
        ArrayDeque<Long> todo = new ArrayDeque<>();
        roots.forEach(todo::add);
        while (!todo.isEmpty()) {
            long pid = todo.poll();
            if (pid <= 0 || found.containsKey(pid)) {
                continue;
            }
            Stat s = stat(pid, buf);
            if (s != null) {
                found.put(pid, s);
                todo.addAll(children(pid));
            }
        }
        return new ProcTable(found);
    }

    Optional<Stat> get(long pid) {
        return Optional.ofNullable(byPid.get(pid));
    }

    Iterable<Stat> all() {
        return byPid.values();
    }

    /** {@code root} and all its live descendants, root first (empty if root is gone). */
    List<Stat> tree(long root) {
        List<Stat> out = new ArrayList<>();
        ArrayDeque<Long> todo = new ArrayDeque<>(List.of(root));
        while (!todo.isEmpty()) {
            Stat s = byPid.get(todo.poll());
            if (s != null) {
                out.add(s);
                todo.addAll(children.getOrDefault(s.pid(), List.of()));
            }
        }
        return out;
    }

    /** Reads /proc/PID/stat of one process; empty when it is gone. */
    static Optional<Stat> stat(long pid) {
        return Optional.ofNullable(stat(pid, new byte[STAT_BUFFER]));
    }

    /** /proc/PID/stat is one short line; 1 KiB holds it with a 64-byte comm to spare. */
    private static final int STAT_BUFFER = 1024;

    /**
     * Reads /proc/PID/stat into {@code buf} and parses the fields we use, without a String per
     * field: a node with thousands of processes reads them all each second (see LoadSampler).
     * Null when the process is gone.
     */
    private static Stat stat(long pid, byte[] buf) {
        int n;
        try (FileInputStream in = new FileInputStream("/proc/" + pid + "/stat")) {
            n = in.readNBytes(buf, 0, buf.length);
        } catch (IOException e) {
            return null;
        }
        int open = 0;
        while (open < n && buf[open] != '(') {
            open++;
        }
        int close = n - 1;
        while (close > open && buf[close] != ')') {
            close--;
        }
        if (close <= open || close + 2 >= n) {
            return null;
        }
        // f[i] is field i+3 of proc(5): state, ppid, pgrp, ..., utime (11), ..., starttime (19), ..., rss (21)
        long[] f = new long[22];
        char state = (char) buf[close + 2];
        int field = 0;
        long value = 0;
        boolean negative = false;
        for (int i = close + 2; i < n && field < f.length; i++) {
            byte b = buf[i];
            if (b == ' ' || b == '\n') {
                f[field++] = negative ? -value : value;
                value = 0;
                negative = false;
            } else if (b == '-') {
                negative = true;
            } else if (b >= '0' && b <= '9') {
                value = value * 10 + (b - '0');
            }
        }
        if (field < f.length) {
            return null;
        }
        return new Stat(pid, f[1], f[2], state, f[11], f[12], f[13], f[14], f[19], f[21],
                new String(buf, open + 1, close - open - 1, StandardCharsets.UTF_8));
    }

    /** The children of {@code pid} as the kernel lists them (all its threads). */
    static List<Long> children(long pid) {
        List<Long> out = new ArrayList<>();
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(PROC.resolve(Long.toString(pid)).resolve("task"))) {
            for (Path task : tasks) {
                String text = Files.readString(task.resolve("children")).strip();
                if (!text.isEmpty()) {
                    for (String c : text.split("\\s+")) {
                        out.add(Long.parseLong(c));
                    }
                }
            }
        } catch (IOException e) {
            return out;
        }
        return out;
    }

    /** A snapshot of one process. */
    static ProcSnapshot snapshot(Stat s) {
        return summed(s, List.of(s));
    }

    /** A snapshot named after {@code root}, with CPU and memory summed over {@code tree}. */
    static ProcSnapshot summed(Stat root, List<Stat> tree) {
        return summed(root, tree, user(root.pid()), commandLine(root));
    }

    /**
     * A job's program and its live descendants as of this table, summed, under the user and
     * command line the job was started with (no further reads of /proc); state X, as ps(1) names
     * a dead process, when the program is gone.
     */
    ProcSnapshot job(long program, LaunchSpec spec) {
        List<Stat> tree = program > 0 ? tree(program) : List.of();
        String command = String.join(" ", spec.argv());
        if (tree.isEmpty()) {
            return new ProcSnapshot(program, spec.user(), 'X', 0, 0, 0, Instant.EPOCH, command);
        }
        return summed(tree.getFirst(), tree, spec.user(), command);
    }

    private static ProcSnapshot summed(Stat root, List<Stat> tree, String user, String command) {
        long ticks = 0;
        long rss = 0;
        for (Stat s : tree) {
            ticks += s.ticksWithChildren();
            rss += s.rssPages();
        }
        long startMillis = BOOT_MILLIS + root.startTicks() * 1000 / CLK_TCK;
        long cpuMillis = ticks * 1000 / CLK_TCK;
        long elapsed = Math.max(1, System.currentTimeMillis() - startMillis);
        return new ProcSnapshot(root.pid(), user, root.state(), 100.0 * cpuMillis / elapsed,
                rss * PAGE_SIZE, cpuMillis, Instant.ofEpochMilli(startMillis), command);
    }

    private static String user(long pid) {
        try {
            int uid = (Integer) Files.getAttribute(PROC.resolve(Long.toString(pid)), "unix:uid");
            return USER_NAMES.computeIfAbsent(uid,
                    u -> Posix.getpwuid(u).map(dev.gestalt.os.UserInfo::name).orElse(Integer.toString(u)));
        } catch (IOException | UnsupportedOperationException e) {
            return "?";
        }
    }

    private static String commandLine(Stat s) {
        try {
            byte[] raw = Files.readAllBytes(PROC.resolve(Long.toString(s.pid())).resolve("cmdline"));
            int end = raw.length;
            while (end > 0 && raw[end - 1] == 0) {
                end--;
            }
            if (end == 0) {
                return "[" + s.comm() + "]";
            }
            return new String(raw, 0, end, StandardCharsets.UTF_8).replace('\0', ' ');
        } catch (IOException e) {
            return "[" + s.comm() + "]";
        }
    }

    private static long bootMillis() {
        try {
            for (String line : Files.readAllLines(PROC.resolve("stat"))) {
                if (line.startsWith("btime ")) {
                    return Long.parseLong(line.substring(6).strip()) * 1000;
                }
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        throw new IllegalStateException("/proc/stat has no btime");
    }

    private static boolean isNumber(String s) {
        return !s.isEmpty() && s.chars().allMatch(Character::isDigit);
    }
}

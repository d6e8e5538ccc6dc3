package dev.gestalt.os;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static dev.gestalt.os.Libc.ADDRESS;
import static dev.gestalt.os.Libc.INT;
import static dev.gestalt.os.Libc.LONG;

/**
 * Who is at the other end of a connected Unix-domain socket, and the world that process lives
 * in, as the kernel says, never as the peer claims: its pid, uid and gid (SO_PEERCRED, the raw
 * numbers), its supplementary groups (SO_PEERGROUPS), and its resource limits, read from
 * {@code /proc/PID/limits} of the peer process itself. That read is race-free: the peer is held
 * by a pidfd from the socket (SO_PEERPIDFD, taken at connect time), and the limits count only
 * if the process is still alive after they were read, so its pid cannot have been recycled.
 *
 * @param pid    the peer's pid (in this process's PID namespace)
 * @param uid    the peer's user id
 * @param gid    the peer's primary group id
 * @param groups the peer's supplementary groups, as its process has them
 * @param user   the user's name for display (the uid as text without a database entry)
 * @param limits the peer process's resource limits, RLIMIT 0 to 15 in order
 */
public record PeerCredentials(int pid, int uid, int gid, List<Integer> groups, String user, List<Limit> limits) {
    private static final int SOL_SOCKET = 1;
    private static final int SO_PEERCRED = 17;
    private static final int SO_PEERGROUPS = 59;
    private static final int SO_PEERPIDFD = 77;
    private static final long SYS_PIDFD_SEND_SIGNAL = 424;
    private static final long SYS_PIDFD_OPEN = 434;

    /** Copies. */
    public PeerCredentials {
        groups = List.copyOf(groups);
        limits = List.copyOf(limits);
    }

    /** The supplementary groups as ints. */
    public int[] groupArray() {
        return groups.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * Reads the credentials of the peer of {@code channel}.
     *
     * @throws IOException when the channel is not a connected Unix-domain socket, or the peer
     *                     is gone before its limits could be read
     */
    public static PeerCredentials of(SocketChannel channel) throws IOException {
        return of(Sockets.fd(channel));
    }

    /** As {@link #of(SocketChannel)}, for a socket's descriptor. */
    public static PeerCredentials of(int fd) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cred = arena.allocate(12, 4);
            MemorySegment len = arena.allocateFrom(INT, 12);
            MemorySegment state = Libc.callState(arena);
            if (Sockets.getsockopt(state, fd, SOL_SOCKET, SO_PEERCRED, cred, len) != 0) {
                throw new IOException("getsockopt(SO_PEERCRED): " + Errno.name(Libc.errno(state)));
            }
            int pid = cred.get(INT, 0);
            int uid = cred.get(INT, 4);
            int gid = cred.get(INT, 8);
            List<Integer> groups = groups(arena, fd);
            int pidfd = peerPidfd(arena, fd, pid);
            List<Limit> limits;
            try {
                limits = limitsOf(pid);
                if (!alive(arena, pidfd)) {
                    throw new IOException("the peer (pid " + pid + ") ended before its limits were read");
                }
            } finally {
                Sockets.close(pidfd);
            }
            String user = Posix.getpwuid(uid).map(UserInfo::name).orElse(Integer.toString(uid));
            return new PeerCredentials(pid, uid, gid, groups, user, limits);
        }
    }

    private static List<Integer> groups(Arena arena, int fd) throws IOException {
        for (int capacity = 64; ; capacity *= 4) {
            MemorySegment buf = arena.allocate(4L * capacity, 4);
            MemorySegment len = arena.allocateFrom(INT, 4 * capacity);
            MemorySegment state = Libc.callState(arena);
            int rc = Sockets.getsockopt(state, fd, SOL_SOCKET, SO_PEERGROUPS, buf, len);
            if (rc != 0 && Libc.errno(state) == Errno.ERANGE && capacity < 65536) {
                continue; // more groups than room: len says how much is needed; grow
            }
            if (rc != 0) {
                throw new IOException("getsockopt(SO_PEERGROUPS): " + Errno.name(Libc.errno(state)));
            }
            int n = len.get(INT, 0) / 4;
            List<Integer> out = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                out.add(buf.getAtIndex(INT, i));
            }
            return out;
        }
    }

    /** A pidfd of the peer as it connected; pidfd_open on a kernel without SO_PEERPIDFD (before 6.5). */
    private static int peerPidfd(Arena arena, int fd, int pid) throws IOException {
        MemorySegment out = arena.allocate(INT);
        MemorySegment len = arena.allocateFrom(INT, 4);
        MemorySegment state = Libc.callState(arena);
        if (Sockets.getsockopt(state, fd, SOL_SOCKET, SO_PEERPIDFD, out, len) == 0) {
            return out.get(INT, 0);
        }
        long pidfd = Sockets.syscall(state, SYS_PIDFD_OPEN, pid, 0, MemorySegment.NULL, 0);
        if (pidfd < 0) {
            throw new IOException("the peer (pid " + pid + ") is gone");
        }
        return (int) pidfd;
    }

    /**
     * Whether the process of a pidfd has not been reaped (signal 0 checks without sending). EPERM
     * says it is there too: a node run by a normal user may not signal a root caller's process.
     */
    private static boolean alive(Arena arena, int pidfd) {
        MemorySegment state = Libc.callState(arena);
        return Sockets.syscall(state, SYS_PIDFD_SEND_SIGNAL, pidfd, 0, MemorySegment.NULL, 0) == 0
            || Libc.errno(state) == Errno.EPERM;
    }

    /**
     * A process's limits from {@code /proc/PID/limits}: after a header, one row per RLIMIT in
     * order, the kernel's {@code "%-25s %-20s %-20s %-10s"} (name, soft, hard, units).
     */
    static List<Limit> limitsOf(long pid) throws IOException {
        String text = Files.readString(Path.of("/proc", Long.toString(pid), "limits"), StandardCharsets.ISO_8859_1);
        List<Limit> limits = new ArrayList<>(Limit.COUNT);
        String[] rows = text.split("\n");
        for (int r = 0; r < Limit.COUNT && r + 1 < rows.length; r++) {
            String row = rows[r + 1];
            if (row.length() < 67) {
                throw new IOException("unexpected /proc/" + pid + "/limits row: " + row);
            }
            limits.add(new Limit(r, value(row.substring(26, 46)), value(row.substring(47, 67))));
        }
        if (limits.size() != Limit.COUNT) {
            throw new IOException("/proc/" + pid + "/limits has " + limits.size() + " limits, not " + Limit.COUNT);
        }
        return limits;
    }

    private static long value(String field) {
        String s = field.strip();
        return s.equals("unlimited") ? Limit.INFINITY : Long.parseUnsignedLong(s);
    }

    /** getsockopt, close and the raw syscall, bound on first use; a SocketChannel's descriptor. */
    private static final class Sockets {
        static final MethodHandle GETSOCKOPT = Libc.withErrno("getsockopt",
            FunctionDescriptor.of(INT, INT, INT, INT, ADDRESS, ADDRESS));
        static final MethodHandle CLOSE = Libc.plain("close", FunctionDescriptor.of(INT, INT));
        static final MethodHandle SYSCALL = Libc.withErrno("syscall",
            FunctionDescriptor.of(LONG, LONG, INT, INT, ADDRESS, INT), Linker.Option.firstVariadicArg(1));
        /** sun.nio.ch.SelChImpl#getFDVal: the JDK gives a channel's descriptor no public way. */
        private static final MethodHandle FD_VAL = fdVal();

        static int getsockopt(MemorySegment state, int fd, int level, int name, MemorySegment value, MemorySegment len) {
            try {
                return (int) GETSOCKOPT.invokeExact(state, fd, level, name, value, len);
            } catch (Throwable t) {
                throw new AssertionError(t);
            }
        }

        static long syscall(MemorySegment state, long number, int a, int b, MemorySegment c, int d) {
            try {
                return (long) SYSCALL.invokeExact(state, number, a, b, c, d);
            } catch (Throwable t) {
                throw new AssertionError(t);
            }
        }

        static void close(int fd) {
            try {
                int ignored = (int) CLOSE.invokeExact(fd);
            } catch (Throwable t) {
                throw new AssertionError(t);
            }
        }

        static int fd(SocketChannel channel) throws IOException {
            if (FD_VAL == null) {
                throw new IOException("cannot read peer credentials: run the JVM with"
                    + " --add-exports=java.base/sun.nio.ch=ALL-UNNAMED (the launcher does)");
            }
            try {
                return (int) FD_VAL.invoke(channel);
            } catch (ClassCastException e) {
                throw new IOException("not a socket channel of the JDK's: " + channel, e);
            } catch (Throwable t) {
                throw new IOException("cannot read the descriptor of " + channel + ": " + t, t);
            }
        }

        private static MethodHandle fdVal() {
            try {
                Class<?> c = Class.forName("sun.nio.ch.SelChImpl");
                return java.lang.invoke.MethodHandles.lookup().unreflect(c.getMethod("getFDVal"));
            } catch (ReflectiveOperationException | RuntimeException e) {
                return null; // the package is not exported to us: fd() says how to run
            }
        }
    }
}

package dev.gestalt.os;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

import static dev.gestalt.os.Libc.ADDRESS;
import static dev.gestalt.os.Libc.INT;
import static dev.gestalt.os.Libc.LONG;

/**
 * Process-level libc calls: signals, umask, terminal queries, effective ids and the user and
 * group databases. Each group of functions is bound on first use only.
 */
public final class Posix {
    private Posix() {}

    /**
     * Sends a signal to a process.
     *
     * @return false when the process does not exist (ESRCH)
     * @throws PosixException for any other failure (e.g. EPERM)
     */
    public static boolean kill(long pid, int sig) {
        return Signal.send(Signal.KILL, "kill", pid, sig);
    }

    /** Sends a signal to a process group; false when the group is gone (ESRCH). */
    public static boolean killpg(long pgid, int sig) {
        return Signal.send(Signal.KILLPG, "killpg", pgid, sig);
    }

    /** Sets the process-wide file mode creation mask and returns the previous one. */
    public static int umask(int mask) {
        try {
            return (int) Ids.UMASK.invokeExact(mask);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** The effective user id of this process. */
    public static int geteuid() {
        try {
            return (int) Ids.GETEUID.invokeExact();
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** The effective group id of this process. */
    public static int getegid() {
        try {
            return (int) Ids.GETEGID.invokeExact();
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** sysconf(3), e.g. {@code _SC_CLK_TCK} (2) or {@code _SC_PAGESIZE} (30). */
    public static long sysconf(int name) {
        try {
            return (long) Ids.SYSCONF.invokeExact(name);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** Whether the file descriptor refers to a terminal. */
    public static boolean isatty(int fd) {
        try {
            return (int) Tty.ISATTY.invokeExact(fd) == 1;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** The window size of the terminal on {@code fd}, empty when it is no terminal. */
    public static Optional<WinSize> windowSize(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ws = arena.allocate(8);
            int rc = (int) Tty.IOCTL.invokeExact(fd, Tty.TIOCGWINSZ, ws);
            if (rc != 0) {
                return Optional.empty();
            }
            int rows = Short.toUnsignedInt(ws.get(java.lang.foreign.ValueLayout.JAVA_SHORT, 0));
            int cols = Short.toUnsignedInt(ws.get(java.lang.foreign.ValueLayout.JAVA_SHORT, 2));
            return Optional.of(new WinSize(cols, rows));
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** Sets the window size of the terminal on {@code fd} (TIOCSWINSZ). */
    public static void setWindowSize(int fd, WinSize size) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ws = arena.allocate(8);
            ws.set(java.lang.foreign.ValueLayout.JAVA_SHORT, 0, (short) size.rows());
            ws.set(java.lang.foreign.ValueLayout.JAVA_SHORT, 2, (short) size.cols());
            int rc = (int) Tty.IOCTL.invokeExact(fd, Tty.TIOCSWINSZ, ws);
            if (rc != 0) {
                throw new PosixException("ioctl(TIOCSWINSZ)", Errno.ENOTTY);
            }
        } catch (PosixException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** Looks a user up by name. */
    public static Optional<UserInfo> getpwnam(String name) {
        return UserDb.user(name);
    }

    /** Looks a user up by uid. */
    public static Optional<UserInfo> getpwuid(int uid) {
        return UserDb.user(uid);
    }

    /** Looks a group up by name. */
    public static Optional<GroupInfo> getgrnam(String name) {
        return UserDb.group(name);
    }

    /** Looks a group up by gid. */
    public static Optional<GroupInfo> getgrgid(int gid) {
        return UserDb.group(gid);
    }

    /** The groups of a user as the system would give them at login, {@code gid} included. */
    public static int[] getgrouplist(String user, int gid) {
        return UserDb.groupList(user, gid);
    }

    /** kill and killpg, with errno. */
    private static final class Signal {
        static final MethodHandle KILL = Libc.withErrno("kill", FunctionDescriptor.of(INT, INT, INT));
        static final MethodHandle KILLPG = Libc.withErrno("killpg", FunctionDescriptor.of(INT, INT, INT));

        static boolean send(MethodHandle fn, String name, long id, int sig) {
            if (id <= 0 || id > Integer.MAX_VALUE) {
                throw new IllegalArgumentException(name + " of " + id + " refused: would signal more than one target");
            }
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment state = Libc.callState(arena);
                int rc = (int) fn.invokeExact(state, (int) id, sig);
                if (rc == 0) {
                    return true;
                }
                int errno = Libc.errno(state);
                if (errno == Errno.ESRCH) {
                    return false;
                }
                throw new PosixException(name, errno);
            } catch (PosixException e) {
                throw e;
            } catch (Throwable t) {
                throw new AssertionError(t);
            }
        }
    }

    /** umask, effective ids, sysconf. */
    private static final class Ids {
        static final MethodHandle UMASK = Libc.plain("umask", FunctionDescriptor.of(INT, INT));
        static final MethodHandle GETEUID = Libc.plain("geteuid", FunctionDescriptor.of(INT));
        static final MethodHandle GETEGID = Libc.plain("getegid", FunctionDescriptor.of(INT));
        static final MethodHandle SYSCONF = Libc.plain("sysconf", FunctionDescriptor.of(LONG, INT));
    }

    /** isatty and the variadic ioctl. */
    private static final class Tty {
        static final long TIOCGWINSZ = 0x5413;
        static final long TIOCSWINSZ = 0x5414;
        static final MethodHandle ISATTY = Libc.plain("isatty", FunctionDescriptor.of(INT, INT));
        static final MethodHandle IOCTL = Libc.plain("ioctl",
                FunctionDescriptor.of(INT, INT, LONG, ADDRESS), Linker.Option.firstVariadicArg(2));
    }
}

package dev.gestalt.os;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.invoke.MethodHandle;

import static dev.gestalt.os.Libc.ADDRESS;
import static dev.gestalt.os.Libc.INT;

/** Pipe buffer sizes (Linux F_SETPIPE_SZ). */
public final class Pipes {
    private static final int O_WRONLY = 01;
    private static final int O_NONBLOCK = 04000;
    private static final int O_CLOEXEC = 02000000;
    private static final int F_SETPIPE_SZ = 1031;

    private Pipes() {}

    /**
     * Asks for a buffer of {@code bytes} on the pipe a process has open as {@code fd}: a reader
     * then takes more per read(2) when it falls behind (64 KiB is the default). The pipe is
     * reached through {@code /proc/PID/fd/FD}, opened for writing without blocking and closed
     * again at once (nothing is written). Best effort: false if the process or the pipe is gone,
     * the fd is not a pipe, or the kernel refuses (above pipe-max-size, or the user's pipe quota).
     */
    public static boolean resize(long pid, int fd, int bytes) {
        try (Arena arena = Arena.ofConfined()) {
            var path = arena.allocateFrom("/proc/" + pid + "/fd/" + fd);
            int p = (int) Calls.OPEN.invokeExact(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
            if (p < 0) {
                return false;
            }
            try {
                return (int) Calls.FCNTL.invokeExact(p, F_SETPIPE_SZ, bytes) >= bytes;
            } finally {
                int ignored = (int) Calls.CLOSE.invokeExact(p);
            }
        } catch (Throwable t) {
            return false;
        }
    }

    /** As {@link #resize(long, int, int)}, for a pipe this process has open as {@code fd}. */
    public static boolean resize(int fd, int bytes) {
        try {
            return (int) Calls.FCNTL.invokeExact(fd, F_SETPIPE_SZ, bytes) >= bytes;
        } catch (Throwable t) {
            return false;
        }
    }

    private static final class Calls {
        static final MethodHandle OPEN = Libc.plain("open", FunctionDescriptor.of(INT, ADDRESS, INT));
        static final MethodHandle FCNTL = Libc.plain("fcntl", FunctionDescriptor.of(INT, INT, INT, INT),
                Linker.Option.firstVariadicArg(2));
        static final MethodHandle CLOSE = Libc.plain("close", FunctionDescriptor.of(INT, INT));
    }
}

package dev.gestalt.os;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static dev.gestalt.os.Libc.ADDRESS;
import static dev.gestalt.os.Libc.INT;
import static dev.gestalt.os.Libc.LONG;

/**
 * What a process reads of its own execution context so that it can be reproduced elsewhere:
 * the file mode creation mask and the resource limits. (Signal names: {@link Signals}.)
 */
public final class ProcessContext {
    private ProcessContext() {}

    /**
     * The current umask, read from {@code /proc/self/status} ("Umask:") so that reading it does
     * not change it, even for a moment.
     */
    public static int umask() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Umask:")) {
                    return Integer.parseInt(line.substring(6).strip(), 8);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        throw new IllegalStateException("/proc/self/status has no Umask line");
    }

    /** Every resource limit of this process, RLIMIT 0 to 15, in order. */
    public static List<Limit> limits() {
        List<Limit> limits = new ArrayList<>(Limit.COUNT);
        for (int r = 0; r < Limit.COUNT; r++) {
            limits.add(limit(r));
        }
        return List.copyOf(limits);
    }

    /** One resource limit of this process. */
    public static Limit limit(int resource) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment rlimit = arena.allocate(16, 8);
            MemorySegment state = Libc.callState(arena);
            if ((int) Rlimit.GETRLIMIT.invokeExact(state, resource, rlimit) != 0) {
                throw new PosixException("getrlimit", Libc.errno(state));
            }
            return new Limit(resource, rlimit.get(LONG, 0), rlimit.get(LONG, 8));
        } catch (PosixException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** getrlimit, bound on first use. RLIM_INFINITY is ~0UL, which reads as -1 in Java. */
    private static final class Rlimit {
        static final MethodHandle GETRLIMIT =
                Libc.withErrno("getrlimit", FunctionDescriptor.of(INT, INT, ADDRESS));
    }
}

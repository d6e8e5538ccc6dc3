package dev.gestalt.os;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.invoke.MethodHandle;

import static dev.gestalt.os.Libc.ADDRESS;
import static dev.gestalt.os.Libc.INT;

/** A pseudo-terminal pair opened with posix_openpt, for tests of terminal calls. */
final class TestPty implements AutoCloseable {
    private static final int O_RDWR = 2;
    private static final int O_NOCTTY = 0x100;
    private static final MethodHandle OPENPT = Libc.plain("posix_openpt", FunctionDescriptor.of(INT, INT));
    private static final MethodHandle GRANTPT = Libc.plain("grantpt", FunctionDescriptor.of(INT, INT));
    private static final MethodHandle UNLOCKPT = Libc.plain("unlockpt", FunctionDescriptor.of(INT, INT));
    private static final MethodHandle PTSNAME = Libc.plain("ptsname", FunctionDescriptor.of(ADDRESS, INT));
    private static final MethodHandle OPEN = Libc.plain("open", FunctionDescriptor.of(INT, ADDRESS, INT));
    private static final MethodHandle CLOSE = Libc.plain("close", FunctionDescriptor.of(INT, INT));

    final int master;
    final int slave;
    final String slavePath;

    TestPty() throws Throwable {
        master = (int) OPENPT.invokeExact(O_RDWR | O_NOCTTY);
        if (master < 0 || (int) GRANTPT.invokeExact(master) != 0 || (int) UNLOCKPT.invokeExact(master) != 0) {
            throw new IllegalStateException("cannot open a pty");
        }
        slavePath = Libc.string((java.lang.foreign.MemorySegment) PTSNAME.invokeExact(master));
        try (Arena arena = Arena.ofConfined()) {
            slave = (int) OPEN.invokeExact(arena.allocateFrom(slavePath), O_RDWR | O_NOCTTY);
        }
        if (slave < 0) {
            throw new IllegalStateException("cannot open " + slavePath);
        }
    }

    @Override
    public void close() {
        try {
            int a = (int) CLOSE.invokeExact(slave);
            int b = (int) CLOSE.invokeExact(master);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }
}

package dev.gestalt.os;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

import static dev.gestalt.os.Libc.ADDRESS;
import static dev.gestalt.os.Libc.INT;

/**
 * Raw mode of a terminal (tcgetattr, cfmakeraw, tcsetattr). The saved settings are kept on the
 * Java heap so that {@link RawMode#close()} works from any thread, a shutdown hook included.
 */
public final class Terminal {
    private static final int TERMIOS_SIZE = 60;
    private static final int TCSANOW = 0;
    private static final int TCSAFLUSH = 2;
    private static final MethodHandle TCGETATTR =
            Libc.withErrno("tcgetattr", FunctionDescriptor.of(INT, INT, ADDRESS));
    private static final MethodHandle TCSETATTR =
            Libc.withErrno("tcsetattr", FunctionDescriptor.of(INT, INT, INT, ADDRESS));
    private static final MethodHandle CFMAKERAW =
            Libc.plain("cfmakeraw", FunctionDescriptor.ofVoid(ADDRESS));

    private Terminal() {}

    /** Puts standard input (fd 0) in raw mode. */
    public static RawMode rawMode() {
        return rawMode(0);
    }

    /**
     * Puts the terminal on {@code fd} in raw mode.
     *
     * @throws PosixException when {@code fd} is no terminal (ENOTTY) or the call fails
     */
    public static RawMode rawMode(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment termios = arena.allocate(TERMIOS_SIZE, 8);
            MemorySegment state = Libc.callState(arena);
            if ((int) TCGETATTR.invokeExact(state, fd, termios) != 0) {
                throw new PosixException("tcgetattr", Libc.errno(state));
            }
            byte[] saved = termios.toArray(ValueLayout.JAVA_BYTE);
            CFMAKERAW.invokeExact(termios);
            if ((int) TCSETATTR.invokeExact(state, fd, TCSAFLUSH, termios) != 0) {
                throw new PosixException("tcsetattr", Libc.errno(state));
            }
            return new RawMode(fd, saved);
        } catch (PosixException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    private static void restore(int fd, byte[] saved) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment termios = arena.allocate(TERMIOS_SIZE, 8);
            MemorySegment.copy(saved, 0, termios, ValueLayout.JAVA_BYTE, 0, saved.length);
            MemorySegment state = Libc.callState(arena);
            if ((int) TCSETATTR.invokeExact(state, fd, TCSANOW, termios) != 0) {
                throw new PosixException("tcsetattr", Libc.errno(state));
            }
        } catch (PosixException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** A terminal in raw mode; {@link #close()} restores the settings saved before, once. */
    public static final class RawMode implements AutoCloseable {
        private final int fd;
        private final byte[] saved;
        private boolean restored;
        private Thread hook;

        private RawMode(int fd, byte[] saved) {
            this.fd = fd;
            this.saved = saved;
        }

        /** Also restores the terminal when the JVM exits without calling {@link #close()}. */
        public synchronized RawMode restoreOnExit() {
            if (hook == null && !restored) {
                hook = new Thread(this::close, "terminal-restore");
                Runtime.getRuntime().addShutdownHook(hook);
            }
            return this;
        }

        /** Restores the saved settings; later calls do nothing. */
        @Override
        public synchronized void close() {
            if (restored) {
                return;
            }
            restored = true;
            restore(fd, saved);
            if (hook != null && Thread.currentThread() != hook) {
                try {
                    Runtime.getRuntime().removeShutdownHook(hook);
                } catch (IllegalStateException shuttingDown) {
                    // the hook runs or ran already; the settings are restored either way
                }
            }
        }
    }
}

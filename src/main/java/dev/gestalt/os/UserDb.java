package dev.gestalt.os;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

import static dev.gestalt.os.Libc.ADDRESS;
import static dev.gestalt.os.Libc.INT;
import static dev.gestalt.os.Libc.LONG;

/**
 * The user and group databases through the reentrant {@code get*_r} functions, so that
 * concurrent look-ups need no lock. Bound on first use (a holder class of {@link Posix}).
 */
final class UserDb {
    private static final MethodHandle GETPWNAM_R = Libc.plain("getpwnam_r",
            FunctionDescriptor.of(INT, ADDRESS, ADDRESS, ADDRESS, LONG, ADDRESS));
    private static final MethodHandle GETPWUID_R = Libc.plain("getpwuid_r",
            FunctionDescriptor.of(INT, INT, ADDRESS, ADDRESS, LONG, ADDRESS));
    private static final MethodHandle GETGRNAM_R = Libc.plain("getgrnam_r",
            FunctionDescriptor.of(INT, ADDRESS, ADDRESS, ADDRESS, LONG, ADDRESS));
    private static final MethodHandle GETGRGID_R = Libc.plain("getgrgid_r",
            FunctionDescriptor.of(INT, INT, ADDRESS, ADDRESS, LONG, ADDRESS));
    private static final MethodHandle GETGROUPLIST = Libc.plain("getgrouplist",
            FunctionDescriptor.of(INT, ADDRESS, INT, ADDRESS, ADDRESS));

    private static final int PASSWD_SIZE = 48;
    private static final int GROUP_SIZE = 32;
    private static final int MAX_BUFFER = 1 << 24;

    private UserDb() {}

    /** A call of one of the {@code _r} functions with the entry, buffer, size and result. */
    private interface Lookup {
        int call(Arena arena, MemorySegment entry, MemorySegment buf, long size, MemorySegment result)
                throws Throwable;
    }

    private static <T> Optional<T> lookup(int entrySize, Lookup lookup,
                                          java.util.function.Function<MemorySegment, T> read) {
        for (long size = 4096; size <= MAX_BUFFER; size *= 4) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment entry = arena.allocate(entrySize, 8);
                MemorySegment buf = arena.allocate(size);
                MemorySegment result = arena.allocate(ADDRESS);
                int rc = lookup.call(arena, entry, buf, size, result);
                if (rc == Errno.ERANGE) {
                    continue;
                }
                if (rc != 0 && rc != Errno.ENOENT && rc != Errno.ESRCH) {
                    throw new PosixException("user/group look-up", rc);
                }
                if (rc != 0 || result.get(ADDRESS, 0).equals(MemorySegment.NULL)) {
                    return Optional.empty();
                }
                return Optional.of(read.apply(entry));
            } catch (PosixException e) {
                throw e;
            } catch (Throwable t) {
                throw new AssertionError(t);
            }
        }
        throw new PosixException("user/group look-up", Errno.ERANGE);
    }

    private static UserInfo passwd(MemorySegment p) {
        return new UserInfo(p.get(INT, 16), p.get(INT, 20),
                Libc.string(p.get(ADDRESS, 0)), Libc.string(p.get(ADDRESS, 32)),
                Libc.string(p.get(ADDRESS, 40)));
    }

    private static GroupInfo group(MemorySegment g) {
        return new GroupInfo(g.get(INT, 16), Libc.string(g.get(ADDRESS, 0)));
    }

    static Optional<UserInfo> user(String name) {
        return lookup(PASSWD_SIZE, (a, e, b, s, r) ->
                (int) GETPWNAM_R.invokeExact(a.allocateFrom(name), e, b, s, r), UserDb::passwd);
    }

    static Optional<UserInfo> user(int uid) {
        return lookup(PASSWD_SIZE, (a, e, b, s, r) ->
                (int) GETPWUID_R.invokeExact(uid, e, b, s, r), UserDb::passwd);
    }

    static Optional<GroupInfo> group(String name) {
        return lookup(GROUP_SIZE, (a, e, b, s, r) ->
                (int) GETGRNAM_R.invokeExact(a.allocateFrom(name), e, b, s, r), UserDb::group);
    }

    static Optional<GroupInfo> group(int gid) {
        return lookup(GROUP_SIZE, (a, e, b, s, r) ->
                (int) GETGRGID_R.invokeExact(gid, e, b, s, r), UserDb::group);
    }

    static int[] groupList(String user, int gid) {
        int capacity = 64;
        while (true) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment groups = arena.allocate(ValueLayout.JAVA_INT, capacity);
                MemorySegment count = arena.allocateFrom(ValueLayout.JAVA_INT, capacity);
                int rc = (int) GETGROUPLIST.invokeExact(arena.allocateFrom(user), gid, groups, count);
                int n = count.get(ValueLayout.JAVA_INT, 0);
                if (rc >= 0) {
                    return groups.asSlice(0, (long) n * Integer.BYTES).toArray(ValueLayout.JAVA_INT);
                }
                capacity = Math.max(n, capacity * 2);
            } catch (Throwable t) {
                throw new AssertionError(t);
            }
        }
    }
}

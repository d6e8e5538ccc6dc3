package dev.gestalt.os;

/** The errno values this package reacts to, with names for messages. */
public final class Errno {
    /** Operation not permitted. */
    public static final int EPERM = 1;
    /** No such file or directory. */
    public static final int ENOENT = 2;
    /** No such process. */
    public static final int ESRCH = 3;
    /** Interrupted system call. */
    public static final int EINTR = 4;
    /** Bad file descriptor. */
    public static final int EBADF = 9;
    /** Permission denied. */
    public static final int EACCES = 13;
    /** Invalid argument. */
    public static final int EINVAL = 22;
    /** Not a typewriter: the fd is no terminal. */
    public static final int ENOTTY = 25;
    /** Result too large / buffer too small. */
    public static final int ERANGE = 34;

    private Errno() {}

    /** A short symbolic name, or the number as text. */
    public static String name(int errno) {
        return switch (errno) {
            case EPERM -> "EPERM";
            case ENOENT -> "ENOENT";
            case ESRCH -> "ESRCH";
            case EINTR -> "EINTR";
            case EBADF -> "EBADF";
            case EACCES -> "EACCES";
            case EINVAL -> "EINVAL";
            case ENOTTY -> "ENOTTY";
            case ERANGE -> "ERANGE";
            default -> Integer.toString(errno);
        };
    }
}

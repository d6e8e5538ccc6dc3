package dev.gestalt.os;

/** A libc call failed; carries the errno it set. */
public final class PosixException extends RuntimeException {
    private final int errno;

    /** @param call the function that failed, @param errno the value of errno after it */
    public PosixException(String call, int errno) {
        super(call + " failed: errno " + errno + " (" + Errno.name(errno) + ")");
        this.errno = errno;
    }

    /** The errno value of the failed call. */
    public int errno() {
        return errno;
    }
}

package dev.gestalt.rpc.local;

import java.util.HashMap;
import java.util.Map;

/**
 * What the users of a node's socket may hold at once, so that none can make the daemon grow
 * without bound: connections that have not sent their request yet (each waits at most
 * {@link LocalServer#REQUEST_TIMEOUT_MILLIS}), sessions (each costs a few threads for as long as
 * it lasts), and the bytes of large requests (arguments and environment stay in memory as long
 * as their session). A newcomer over a bound is refused with a one-line reason; nothing already
 * admitted is touched. Root is bounded like everyone else.
 */
final class Admission {

    /**
     * @param pendingPerUser    connections of one user that have not sent their request yet
     * @param sessionsPerUser   sessions of one user at once
     * @param sessions          sessions at once, all users together
     * @param largeRequest      requests up to this many bytes count only as sessions
     * @param largeBytesPerUser bytes of one user's larger requests held at once
     * @param largeBytes        bytes of larger requests held at once, all users together
     */
    record Limits(int pendingPerUser, int sessionsPerUser, int sessions, int largeRequest,
                  long largeBytesPerUser, long largeBytes) {
        static final Limits DEFAULT = new Limits(128, 256, 2048, 64 << 10, 32 << 20, 64 << 20);
    }

    /** Why a connection or a request was refused, in one line for the user. */
    static final class Refused extends Exception {
        Refused(String message) {
            super(message);
        }
    }

    private static final class Usage {
        int pending;
        int sessions;
        long largeBytes;
    }

    private final Limits limits;
    private final Map<Integer, Usage> byUser = new HashMap<>();
    private int sessions;
    private long largeBytes;

    Admission(Limits limits) {
        this.limits = limits;
    }

    /** One connection's hold on the node: pending until its request is admitted, then a session. */
    final class Ticket implements AutoCloseable {
        private final int uid;
        private boolean pending = true;
        private boolean session;
        private long large;

        private Ticket(int uid) {
            this.uid = uid;
        }

        /** Turns the pending connection into a session with a request of {@code bytes}. */
        void request(int bytes, String user) throws Refused {
            synchronized (Admission.this) {
                Usage u = byUser.get(uid);
                if (u.sessions >= limits.sessionsPerUser()) {
                    throw new Refused("user " + user + " has " + u.sessions + " sessions on this node, the most"
                        + " one user may have at once: end some first");
                }
                if (sessions >= limits.sessions()) {
                    throw new Refused("this node serves " + sessions + " sessions, the most it takes at once:"
                        + " try again later or on another node");
                }
                long big = bytes > limits.largeRequest() ? bytes : 0;
                if (big > 0 && u.largeBytes + big > limits.largeBytesPerUser()) {
                    throw new Refused(mib(bytes) + " of arguments and environment: the sessions of user " + user
                        + " on this node already hold " + mib(u.largeBytes) + ", and " + mib(limits.largeBytesPerUser())
                        + " is the most one user's may hold at once");
                }
                if (big > 0 && largeBytes + big > limits.largeBytes()) {
                    throw new Refused(mib(bytes) + " of arguments and environment: this node's sessions already hold "
                        + mib(largeBytes) + " of large requests, the most it takes at once: try again later");
                }
                pending = false;
                u.pending--;
                session = true;
                u.sessions++;
                sessions++;
                large = big;
                u.largeBytes += big;
                largeBytes += big;
            }
        }

        @Override
        public void close() {
            synchronized (Admission.this) {
                Usage u = byUser.get(uid);
                if (u == null) {
                    return;
                }
                if (pending) {
                    pending = false;
                    u.pending--;
                }
                if (session) {
                    session = false;
                    u.sessions--;
                    sessions--;
                    u.largeBytes -= large;
                    largeBytes -= large;
                }
                if (u.pending == 0 && u.sessions == 0) {
                    byUser.remove(uid);
                }
            }
        }
    }

    /** A new connection of {@code uid}, pending until its request comes. */
    synchronized Ticket connect(int uid) throws Refused {
        Usage u = byUser.computeIfAbsent(uid, k -> new Usage());
        if (u.pending >= limits.pendingPerUser()) {
            throw new Refused("uid " + uid + " has " + u.pending + " connections to this node that sent no request yet,"
                + " the most one user may have");
        }
        u.pending++;
        return new Ticket(uid);
    }

    private static String mib(long bytes) {
        return String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / (1024.0 * 1024.0));
    }
}

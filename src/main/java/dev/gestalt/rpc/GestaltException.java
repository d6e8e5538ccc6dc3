package dev.gestalt.rpc;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Gestalt's own failures, in one table: each kind maps to one gRPC status
 * (between nodes) and one exit code (in the CLI). {@code run} passes the
 * program's code through, so Gestalt's failures there are 255, as in ssh.
 */
public sealed class GestaltException extends Exception {

    private static final Logger LOG = Logger.getLogger(GestaltException.class.getName());

    private final Status.Code status;
    private final int exitCode;

    private GestaltException(String message, Status.Code status, int exitCode) {
        super(message);
        this.status = status;
        this.exitCode = exitCode;
    }

    public int exitCode() {
        return exitCode;
    }

    /** No such process, node or file. Exit 1. */
    public static final class NotFound extends GestaltException {
        public NotFound(String m) {
            super(m, Status.Code.NOT_FOUND, 1);
        }
    }

    /** The caller may not touch this. Exit 1. */
    public static final class PermissionDenied extends GestaltException {
        public PermissionDenied(String m) {
            super(m, Status.Code.PERMISSION_DENIED, 1);
        }
    }

    /** A node failed or cannot be reached. Exit 255. */
    public static final class NodeLost extends GestaltException {
        public NodeLost(String m) {
            super(m, Status.Code.UNAVAILABLE, 255);
        }
    }

    /** No node can take the work (none alive, none with the resources). Exit 255. */
    public static final class NoEligibleNode extends GestaltException {
        public NoEligibleNode(String m) {
            super(m, Status.Code.FAILED_PRECONDITION, 255);
        }
    }

    /** Bad arguments that got past the CLI. Exit 2. */
    public static final class BadRequest extends GestaltException {
        public BadRequest(String m) {
            super(m, Status.Code.INVALID_ARGUMENT, 2);
        }
    }

    public StatusRuntimeException toStatus() {
        return Status.fromCode(status).withDescription(getMessage()).asRuntimeException();
    }

    /**
     * The failure of a call to {@code node}, in Gestalt's words: the domain error a node sent (its
     * description is a Gestalt service's own words, see {@link #toStatus}), or one line saying what
     * happened to the node. The transport's text ("io exception", "CallOptions deadline exceeded
     * after 2.9s. Name resolution delay ...") is for the node's log, never for the user.
     *
     * @param node the node called, or null if not known
     */
    public static GestaltException fromStatus(Throwable t, String node) {
        Status s = Status.fromThrowable(t);
        String d = s.getDescription() != null ? s.getDescription() : s.getCode().toString();
        String n = node == null ? "a node" : "node " + node;
        return switch (s.getCode()) {
            case NOT_FOUND -> new NotFound(d);
            case PERMISSION_DENIED -> new PermissionDenied(d);
            case FAILED_PRECONDITION -> new NoEligibleNode(d);
            case INVALID_ARGUMENT -> new BadRequest(d);
            // only a node's TLS interceptor answers UNAUTHENTICATED (a revoked caller): its description is Gestalt's
            case UNAUTHENTICATED -> new NodeLost(n + " refused this node: " + d);
            case UNAVAILABLE, CANCELLED -> {
                LOG.fine("call to " + n + " failed: " + s + (s.getCause() != null ? " (" + s.getCause() + ")" : ""));
                yield tlsRefused(s.getCause()) ? new NodeLost("the TLS handshake with " + n
                    + " failed: a certificate was refused (revoked, expired or of another cluster; see the node logs)")
                    : new NodeLost(n + " lost");
            }
            case DEADLINE_EXCEEDED -> {
                LOG.fine("call to " + n + " failed: " + s);
                yield new NodeLost(n + " did not answer in time");
            }
            case UNIMPLEMENTED -> {
                LOG.fine("call to " + n + " failed: " + s);
                yield new NodeLost(n + " does not know this request (it runs another version of Gestalt)");
            }
            default -> {
                LOG.log(Level.WARNING, "call to " + n + " failed: " + s, t);
                yield new NodeLost(n + " failed (see its log)");
            }
        };
    }

    private static boolean tlsRefused(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof javax.net.ssl.SSLHandshakeException) {
                return true;
            }
        }
        return false;
    }

    /**
     * This error said about {@code subject}, the name the user gave (a GPID, NODE:PID): a
     * refusal names what was refused, whatever the node called it.
     */
    public GestaltException about(String subject) {
        return this instanceof PermissionDenied ? new PermissionDenied(subject + ": permission denied") : this;
    }
}

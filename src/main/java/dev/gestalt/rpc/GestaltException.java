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
     * The domain error a failed call to {@code node} carried (its description is a Gestalt
     * service's own words), or NodeLost for the others, in Gestalt's words: the transport's text
     * ("io exception", "deadline exceeded after ...") is for the node's log, never for the user.
     */
    public static GestaltException fromStatus(Throwable t, String node) {
        Status s = Status.fromThrowable(t);
        String d = s.getDescription() != null ? s.getDescription() : s.getCode().toString();
        return switch (s.getCode()) {
            case NOT_FOUND -> new NotFound(d);
            case PERMISSION_DENIED -> new PermissionDenied(d);
            case FAILED_PRECONDITION -> new NoEligibleNode(d);
            case INVALID_ARGUMENT -> new BadRequest(d);
            case UNAVAILABLE, CANCELLED -> {
                LOG.fine("call to " + node + " failed: " + s);
                yield new NodeLost("node " + node + " lost");
            }
            case DEADLINE_EXCEEDED -> {
                LOG.fine("call to " + node + " failed: " + s);
                yield new NodeLost("node " + node + " did not answer in time");
            }
            default -> {
                LOG.log(Level.WARNING, "call to " + node + " failed: " + s, t);
                yield new NodeLost("node " + node + " failed (see its log)");
            }
        };
    }

    /**
     * This error said about {@code subject}, the name the user gave (a GPID, NODE:PID): a
     * refusal names what was refused, whatever the node called it.
     */
    public GestaltException about(String subject) {
        return this instanceof PermissionDenied ? new PermissionDenied(subject + ": permission denied") : this;
    }
}

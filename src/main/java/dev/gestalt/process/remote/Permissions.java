package dev.gestalt.process.remote;

import dev.gestalt.process.supervisor.Job;
import dev.gestalt.rpc.proto.Caller;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/** Who may touch a process: its owner, and root. */
final class Permissions {

    private Permissions() {}

    static void check(Caller caller, Job job) {
        if (caller.getUid() != 0 && caller.getUid() != job.spec().uid()) {
            throw denied(job.gpid());
        }
    }

    static StatusRuntimeException denied(String what) {
        return Status.PERMISSION_DENIED.withDescription(what + ": permission denied").asRuntimeException();
    }

    static StatusRuntimeException notFound(String gpid) {
        return Status.NOT_FOUND.withDescription(gpid + ": no such process").asRuntimeException();
    }
}

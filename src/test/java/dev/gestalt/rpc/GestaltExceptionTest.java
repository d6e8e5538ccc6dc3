package dev.gestalt.rpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.Test;

/** The one error table: what a failed call to another node says to a user. */
class GestaltExceptionTest {

    private static GestaltException from(Status s) {
        return GestaltException.fromStatus(s.asRuntimeException(), "node3");
    }

    @Test
    void transportFailuresAreOneLineInGestaltsWordsNeverGrpcsText() {
        String raw = "CallOptions deadline exceeded after 2.999s. Name resolution delay 0.001 seconds. [closed=[], open=[]]";
        var g = from(Status.DEADLINE_EXCEEDED.withDescription(raw));
        assertEquals("node node3 did not answer in time", g.getMessage());
        assertEquals(255, g.exitCode());
        assertEquals("node node3 lost", from(Status.UNAVAILABLE.withDescription("io exception")).getMessage());
        assertEquals("node node3 failed (see its log)",
            from(Status.UNKNOWN.withDescription("Application error processing RPC")).getMessage());
        assertEquals("node node3 failed (see its log)", from(Status.INTERNAL.withDescription("Panic! This is a bug!")).getMessage());
        assertEquals("node node3 lost", from(Status.UNAVAILABLE.withDescription("Channel shutdownNow invoked")).getMessage());
        assertEquals("node node3 lost", from(Status.CANCELLED.withDescription("RST_STREAM")).getMessage());
        assertTrue(from(Status.UNIMPLEMENTED.withDescription("Method not found: gestalt.v1.Procs/X")).getMessage()
            .contains("another version of Gestalt"));
        var tls = from(Status.UNAVAILABLE.withDescription("ssl exception").withCause(
            new RuntimeException(new SSLHandshakeException("Received fatal alert: certificate_unknown"))));
        assertTrue(tls.getMessage().startsWith("the TLS handshake with node node3 failed: a certificate was refused"),
            tls.getMessage());
        assertFalse(tls.getMessage().contains("fatal alert"));
        assertEquals("a node did not answer in time",
            GestaltException.fromStatus(Status.DEADLINE_EXCEEDED.asRuntimeException(), null).getMessage());
    }

    @Test
    void domainErrorsKeepTheirOwnWordsAndCodes() {
        var nf = from(new GestaltException.NotFound("no such process 3-7").toStatus().getStatus());
        assertInstanceOf(GestaltException.NotFound.class, nf);
        assertEquals("no such process 3-7", nf.getMessage());
        assertEquals(1, nf.exitCode());
        var pd = from(new GestaltException.PermissionDenied("3-7: permission denied").toStatus().getStatus());
        assertEquals(1, pd.exitCode());
        var revoked = from(Status.UNAUTHENTICATED.withDescription("the certificate of node9 is revoked"));
        assertEquals("node node3 refused this node: the certificate of node9 is revoked", revoked.getMessage());
        assertEquals(255, revoked.exitCode());
    }
}

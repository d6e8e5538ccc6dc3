package dev.gestalt.rpc.local;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The bounds of the local socket, one at a time: what is refused, and that what ends is given back. */
class AdmissionTest {

    private static final Admission.Limits SMALL = new Admission.Limits(2, 3, 5, 100, 1000, 1500);

    @Test
    void pendingConnectionsAreBoundedPerUserAndFreedByTheirRequest() throws Exception {
        var a = new Admission(SMALL);
        var t1 = a.connect(1000);
        a.connect(1000);
        var refused = assertThrows(Admission.Refused.class, () -> a.connect(1000));
        assertTrue(refused.getMessage().contains("sent no request yet"), refused.getMessage());
        assertDoesNotThrow(() -> a.connect(1001).close(), "another user is not affected");
        t1.request(10, "alice");
        assertDoesNotThrow(() -> a.connect(1000), "a request frees its pending place");
    }

    @Test
    void sessionsAreBoundedPerUserAndPerNode() throws Exception {
        var a = new Admission(SMALL);
        List<Admission.Ticket> held = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            var t = a.connect(7);
            t.request(10, "bob");
            held.add(t);
        }
        var fourth = a.connect(7);
        var perUser = assertThrows(Admission.Refused.class, () -> fourth.request(10, "bob"));
        assertTrue(perUser.getMessage().contains("the most one user may have at once"), perUser.getMessage());
        fourth.close();
        for (int i = 0; i < 2; i++) {
            var t = a.connect(8);
            t.request(10, "carol");
        }
        var sixth = a.connect(9);
        var perNode = assertThrows(Admission.Refused.class, () -> sixth.request(10, "dave"));
        assertTrue(perNode.getMessage().contains("the most it takes at once"), perNode.getMessage());
        held.getFirst().close();
        assertDoesNotThrow(() -> sixth.request(10, "dave"), "an ended session makes room");
    }

    @Test
    void largeRequestsAreBoundedByTheirBytesSmallOnesAreNot() throws Exception {
        var a = new Admission(SMALL);
        var big = a.connect(1);
        big.request(800, "erin");
        var second = a.connect(1);
        var refused = assertThrows(Admission.Refused.class, () -> second.request(300, "erin"));
        assertTrue(refused.getMessage().contains("one user's may hold"), refused.getMessage());
        assertDoesNotThrow(() -> second.request(100, "erin"), "a small request counts only as a session");
        var other = a.connect(2);
        var node = assertThrows(Admission.Refused.class, () -> other.request(800, "frank"));
        assertTrue(node.getMessage().contains("this node's sessions already hold"), node.getMessage());
        big.close();
        assertDoesNotThrow(() -> other.request(800, "frank"), "the bytes of an ended session are given back");
    }
}

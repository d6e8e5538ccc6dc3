package dev.gestalt.process.remote;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gestalt.rpc.GestaltException;
import dev.gestalt.rpc.proto.Caller;
import dev.gestalt.rpc.proto.ProcessSpec;
import dev.gestalt.security.GrpcTls;
import dev.gestalt.security.PeerIdentity;
import io.grpc.Context;
import java.math.BigInteger;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;

/** The execution node's policy for starts asked by other nodes: which uids, and who may ask for what. */
class RemoteStartPolicyTest {

    private static final PeerIdentity NODE1 = new PeerIdentity("node1", 1, "c0ffee", BigInteger.TEN);

    private static ProcessSpec spec(String gpid, String home, int uid) {
        return ProcessSpec.newBuilder().setGpid(gpid).setHomeNode(home)
            .setCaller(Caller.newBuilder().setUid(uid).setGid(uid).setUser("u" + uid)).build();
    }

    private static <T> T as(PeerIdentity peer, Callable<T> body) throws Exception {
        return Context.current().withValue(GrpcTls.PEER, peer).call(body);
    }

    private static String refusal(RemoteStartPolicy p, PeerIdentity peer, ProcessSpec s) throws Exception {
        return as(peer, () -> {
            try {
                p.check("node2", s);
                return null;
            } catch (GestaltException.PermissionDenied e) {
                return e.getMessage();
            }
        });
    }

    @Test
    void valuesParse() {
        assertFalse(RemoteStartPolicy.NONROOT.allows(0));
        assertTrue(RemoteStartPolicy.NONROOT.allows(1000));
        assertTrue(RemoteStartPolicy.parse("all").allows(0));
        assertFalse(RemoteStartPolicy.parse("none").allows(1000));
        var list = RemoteStartPolicy.parse("1000-1999, 3000");
        assertTrue(list.allows(1500) && list.allows(3000));
        assertFalse(list.allows(0) || list.allows(2000) || list.allows(3001));
        assertTrue(RemoteStartPolicy.parse("0,1000").allows(0));
        for (String bad : new String[] {"", "root", "5-1", "-3", "1000-", "x,1"}) {
            var e = assertThrows(IllegalArgumentException.class, () -> RemoteStartPolicy.parse(bad), bad);
            assertTrue(e.getMessage().startsWith("remote_uids must be"), e.getMessage());
        }
    }

    @Test
    void rootFromAnotherNodeIsRefusedByDefaultAndAllowedWithAll() throws Exception {
        String why = refusal(RemoteStartPolicy.NONROOT, NODE1, spec("1-7", "node1", 0));
        assertEquals("refused by node2: this node does not run processes of other nodes as uid 0 (root; remote_uids = "
            + "nonroot in node.conf)", why);
        assertEquals(null, refusal(RemoteStartPolicy.NONROOT, NODE1, spec("1-8", "node1", 1000)));
        assertEquals(null, refusal(RemoteStartPolicy.parse("all"), NODE1, spec("1-9", "node1", 0)));
    }

    @Test
    void theHomeNodeIsTheCallersCertificateNotTheRequest() throws Exception {
        RemoteStartPolicy all = RemoteStartPolicy.parse("all");
        String why = refusal(all, NODE1, spec("3-1", "node3", 1000));
        assertTrue(why.contains("names home node node3 but comes from node1 (id 1)"), why);
        why = refusal(all, NODE1, spec("3-1", "node1", 1000));
        assertTrue(why.contains("GPID 3-1 is not one node1 (id 1) may hand out"), why);
        why = refusal(all, null, spec("1-1", "node1", 1000));
        assertTrue(why.contains("no node certificate"), why);
    }

    @Test
    void thisNodesOwnStartsAreNotRemote() throws Exception {
        Boolean ok = Context.current().withValue(GrpcTls.SAME_NODE, Boolean.TRUE).call(() -> {
            RemoteStartPolicy.parse("none").check("node2", spec("2-1", "node2", 0));
            return true;
        });
        assertTrue(ok);
    }
}

package dev.gestalt.process.supervisor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ServerSocket;
import java.net.Socket;
import org.junit.jupiter.api.Test;

/** What --check finds in /proc: established TCP connections, with their addresses as people write them. */
class MoveBlockersTest {

    @Test
    void addressesAsProcNetTcpWritesThem() {
        assertEquals("127.0.0.1:8080", MoveBlockers.address("0100007F:1F90"));
        assertEquals("10.148.191.2:443", MoveBlockers.address("02BF940A:01BB"));
        assertEquals("[0:0:0:0:0:0:0:1]:22", MoveBlockers.address("00000000000000000000000001000000:0016"));
        assertEquals("127.0.0.1:43073", MoveBlockers.address("0000000000000000FFFF00000100007F:A841"), "IPv4-mapped");
    }

    /** This JVM's own connection to itself is found, both ends, in this process's table. */
    @Test
    void anEstablishedConnectionIsNamed() throws Exception {
        try (var server = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress());
             var client = new Socket(server.getInetAddress(), server.getLocalPort());
             var accepted = server.accept()) {
            var found = MoveBlockers.of(ProcessHandle.current().pid(), null);
            String port = Integer.toString(server.getLocalPort());
            long named = found.stream().filter(b -> b.startsWith("an established TCP connection 127.0.0.1:")
                && (b.contains(" -> 127.0.0.1:" + port + " (") || b.contains("127.0.0.1:" + port + " -> "))).count();
            assertEquals(2, named, "both ends: " + found);
        }
    }
}

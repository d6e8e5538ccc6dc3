package dev.gestalt.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NodeConfigTest {
    @TempDir
    Path dir;

    private Path conf(String extra) throws IOException {
        return Files.writeString(dir.resolve("node.conf"), "name = n1\nid = 1\ngossip_port = 7800\nrpc_port = 7900\n" + extra);
    }

    @Test
    void incomingMovesDefaultsToFourAndIsBounded() throws IOException {
        assertEquals(NodeConfig.DEFAULT_INCOMING_MOVES, NodeConfig.load(conf("")).incomingMoves());
        assertEquals(4, NodeConfig.DEFAULT_INCOMING_MOVES);
        assertEquals(1, NodeConfig.load(conf("incoming_moves = 1\n")).incomingMoves());
        assertEquals(256, NodeConfig.load(conf("incoming_moves = 256\n")).incomingMoves());
        for (String bad : List.of("0", "-1", "257", "four")) {
            IOException e = assertThrows(IOException.class, () -> NodeConfig.load(conf("incoming_moves = " + bad + "\n")));
            assertEquals(dir.resolve("node.conf") + ": 'incoming_moves' must be a number from 1 to 256, not '" + bad + "'",
                e.getMessage());
        }
    }

    /** What a file says survives the changes init and cluster up make (seeds, files, remote uids) and a render. */
    @Test
    void renderedAndChangedItKeepsEveryValue() throws IOException {
        NodeConfig c = NodeConfig.load(conf("balance = off\nincoming_moves = 2\njob_history = 2h\n"));
        NodeConfig changed = c.withSeeds(List.of(new InetSocketAddress("10.0.0.2", 7800)))
            .withRemoteUids(dev.gestalt.process.remote.RemoteStartPolicy.parse("all")).withFiles(c.files());
        NodeConfig again = NodeConfig.load(Files.writeString(dir.resolve("again.conf"), changed.render()));
        assertFalse(again.balance());
        assertEquals(2, again.incomingMoves());
        assertEquals(java.time.Duration.ofHours(2), again.jobHistory());
        assertEquals("all", again.remoteUids().toString());
        assertEquals(List.of(new InetSocketAddress("10.0.0.2", 7800)), again.seeds());
    }
}

package dev.gestalt.rpc.local;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class FrameChannelTest {

    private Path dir;
    private SocketChannel a;
    private SocketChannel b;

    @BeforeEach
    void connect() throws IOException {
        dir = Files.createTempDirectory("frames");
        var server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(dir.resolve("s")));
        a = SocketChannel.open(StandardProtocolFamily.UNIX);
        a.connect(UnixDomainSocketAddress.of(dir.resolve("s")));
        b = server.accept();
        server.close();
    }

    @AfterEach
    void close() throws IOException {
        a.close();
        b.close();
        Files.deleteIfExists(dir.resolve("s"));
        Files.deleteIfExists(dir);
    }

    @Test
    void framesRoundTripAndLargeWritesAreSplit() throws Exception {
        byte[] big = new byte[Frame.MAX_PAYLOAD * 2 + 17];
        new Random(7).nextBytes(big);
        var writer = new FrameChannel(a);
        var reader = new FrameChannel(b);
        Thread t = Thread.ofVirtual().start(() -> {
            try {
                writer.write(Frame.ofInts(Frame.RESIZE, 120, 40));
                writer.write(Frame.STDIN, big, 0, big.length);
                writer.write(Frame.of(Frame.STDIN_EOF));
                a.shutdownOutput();
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        Frame resize = reader.read();
        assertEquals(Frame.RESIZE, resize.type());
        assertEquals(120, resize.intAt(0));
        assertEquals(40, resize.intAt(4));
        var got = ByteBuffer.allocate(big.length);
        List<Integer> sizes = new ArrayList<>();
        Frame f;
        while ((f = reader.read()).type() == Frame.STDIN) {
            sizes.add(f.payload().length);
            got.put(f.payload());
        }
        assertEquals(Frame.STDIN_EOF, f.type());
        assertArrayEquals(big, got.array());
        assertEquals(List.of(Frame.MAX_PAYLOAD, Frame.MAX_PAYLOAD, 17), sizes);
        assertNull(reader.read(), "a clean end of stream reads as null");
        t.join();
    }

    @Test
    void aTruncatedOrOversizedFrameIsAnError() throws Exception {
        a.write(ByteBuffer.wrap(new byte[] {0, 0, 0, 10, Frame.STDIN, 1, 2}));
        a.shutdownOutput();
        assertThrows(IOException.class, () -> new FrameChannel(b).read());
    }

    @Test
    void oversizedLengthIsRefused() throws Exception {
        a.write(ByteBuffer.wrap(new byte[] {0x7f, 0, 0, 0, Frame.STDIN}));
        assertThrows(IOException.class, () -> new FrameChannel(b).read());
    }

    @Test
    void requestKeepsEveryFieldExactly() throws Exception {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("PATH", "/usr/bin:/bin");
        env.put("UNICODE", "żółw 🐢 \t\n");
        env.put("EMPTY", "");
        env.put("BIG", "x".repeat(200_000));
        var r = new Request("run", List.of("-t", "--", "echo", "a b", "\"q\"", ""), env, "/tmp/dir with space",
            027, true, false, 132, 43);
        Request back = Request.fromFrame(r.toFrame());
        assertEquals(r.command(), back.command());
        assertEquals(r.args(), back.args());
        assertEquals(r.env(), back.env());
        assertEquals(r.cwd(), back.cwd());
        assertEquals(027, back.umask());
        assertEquals(true, back.tty());
        assertEquals(false, back.stdoutTty());
        assertEquals(132, back.cols());
        assertEquals(43, back.rows());
    }

    @Test
    void creditBlocksUntilGrantedAndEndsWhenClosed() throws Exception {
        var credit = new Credit(10);
        assertEquals(10, credit.take(64));
        var second = new java.util.concurrent.CompletableFuture<Integer>();
        var third = new java.util.concurrent.CompletableFuture<Integer>();
        Thread.ofVirtual().start(() -> {
            try {
                second.complete(credit.take(64));
                third.complete(credit.take(64));
            } catch (InterruptedException e) {
                second.completeExceptionally(e);
            }
        });
        Thread.sleep(50);
        assertEquals(false, second.isDone(), "no credit: the sender waits");
        credit.grant(5);
        assertEquals(5, second.get(5, java.util.concurrent.TimeUnit.SECONDS));
        credit.close();
        assertEquals(-1, third.get(5, java.util.concurrent.TimeUnit.SECONDS));
    }
}

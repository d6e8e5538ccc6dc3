package dev.gestalt.process.forall;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** When task output may go to the client, and what is held meanwhile, with small budgets. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PrinterTest {

    @TempDir
    Path state;

    private final ByteArrayOutputStream stdout = new ByteArrayOutputStream();
    private final ByteArrayOutputStream stderr = new ByteArrayOutputStream();

    private Printer printer(Printer.Mode mode, boolean keepOrder, long memory, long spill) {
        var budget = new OutputBudget(state.resolve("spill"), memory, spill);
        return new Printer((out, data) -> {
            synchronized (this) {
                byte[] b = new byte[data.remaining()];
                data.get(b);
                (out ? stdout : stderr).write(b, 0, b.length);
            }
        }, mode, keepOrder, budget, () -> { });
    }

    private static void write(TaskOutput t, boolean out, String s) throws Exception {
        t.write(out, ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8)));
    }

    private static byte[] bytes(char c, int n) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) c);
        return b;
    }

    private synchronized String out() {
        return stdout.toString(StandardCharsets.UTF_8);
    }

    @Test
    void groupedInTheOrderTasksEndStdoutThenStderr() throws Exception {
        Printer p = printer(Printer.Mode.GROUP, false, 1 << 20, 1 << 20);
        TaskOutput a = p.task(1, null);
        TaskOutput b = p.task(2, "b\t".getBytes(StandardCharsets.UTF_8));
        write(a, true, "a1\n");
        write(b, false, "be\n");
        write(b, true, "b1\n");
        write(a, true, "a2\n");
        b.ended();
        a.ended();
        p.close();
        assertEquals("b\tb1\na1\na2\n", out());
        assertEquals("b\tbe\n", stderr.toString(StandardCharsets.UTF_8));
    }

    @Test
    void keepOrderPrintsInArgumentOrder() throws Exception {
        Printer p = printer(Printer.Mode.GROUP, true, 1 << 20, 1 << 20);
        TaskOutput a = p.task(1, null);
        TaskOutput b = p.task(2, null);
        TaskOutput c = p.task(3, null);
        write(c, true, "c\n");
        c.ended();
        write(b, true, "b\n");
        b.ended();
        assertEquals("", out(), "nothing before the first");
        write(a, true, "a\n");
        a.ended();
        p.close();
        assertEquals("a\nb\nc\n", out());
    }

    @Test
    void outputLargerThanTheBudgetStreamsWhenItIsItsTurn() throws Exception {
        Printer p = printer(Printer.Mode.GROUP, false, 64 << 10, 0);
        TaskOutput a = p.task(1, null);
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        for (int i = 0; i < 100; i++) {
            byte[] chunk = bytes((char) ('a' + i % 26), 32 << 10);
            a.write(true, ByteBuffer.wrap(chunk));
            expected.write(chunk);
        }
        assertTrue(stdout.size() > 3 << 20 - (64 << 10), "it streamed before it ended");
        a.ended();
        p.close();
        assertArrayEquals(expected.toByteArray(), stdout.toByteArray());
    }

    @Test
    void aLaterTaskSpillsUntilItsTurnThenTheSpillFileIsGone() throws Exception {
        Printer p = printer(Printer.Mode.GROUP, true, 64 << 10, 8 << 20);
        TaskOutput first = p.task(1, null);
        TaskOutput second = p.task(2, null);
        byte[] big = bytes('x', 3 << 20);
        second.write(true, ByteBuffer.wrap(big));
        second.ended();
        assertEquals(0, stdout.size(), "held: it is not its turn");
        assertTrue(Files.isDirectory(state.resolve("spill")));
        assertEquals(java.util.Set.of(java.nio.file.attribute.PosixFilePermission.OWNER_READ,
                java.nio.file.attribute.PosixFilePermission.OWNER_WRITE, java.nio.file.attribute.PosixFilePermission.OWNER_EXECUTE),
            Files.getPosixFilePermissions(state.resolve("spill")));
        try (var files = Files.list(state.resolve("spill"))) {
            assertEquals(0, files.count(), "spill files are unlinked at once");
        }
        write(first, true, "first\n");
        first.ended();
        p.close();
        byte[] all = stdout.toByteArray();
        assertEquals("first\n", new String(all, 0, 6, StandardCharsets.UTF_8));
        assertArrayEquals(big, Arrays.copyOfRange(all, 6, all.length));
    }

    @Test
    void withNoRoomLeftALaterTaskWaitsForItsTurn() throws Exception {
        Printer p = printer(Printer.Mode.GROUP, true, 64 << 10, 64 << 10);
        TaskOutput first = p.task(1, null);
        TaskOutput second = p.task(2, null);
        byte[] big = bytes('y', 1 << 20);
        var writing = CompletableFuture.runAsync(() -> {
            try {
                second.write(true, ByteBuffer.wrap(big));
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        Thread.sleep(500);
        assertFalse(writing.isDone(), "no memory, no spill left, not its turn: it waits (its process with it)");
        write(first, true, "first\n");
        first.ended();
        writing.get(10, TimeUnit.SECONDS);
        second.ended();
        p.close();
        assertEquals(6 + big.length, stdout.size());
    }

    @Test
    void lineBufferWritesWholeLinesAsTheyCome() throws Exception {
        Printer p = printer(Printer.Mode.LINE, false, 1 << 20, 1 << 20);
        TaskOutput a = p.task(1, "A\t".getBytes(StandardCharsets.UTF_8));
        TaskOutput b = p.task(2, "B\t".getBytes(StandardCharsets.UTF_8));
        write(a, true, "one\ntw");
        write(b, true, "x\n");
        write(a, true, "o\n");
        assertEquals("A\tone\nB\tx\nA\ttwo\n", out());
        write(a, true, "end");
        a.ended();
        b.ended();
        p.close();
        assertEquals("A\tone\nB\tx\nA\ttwo\nA\tend", out());
    }

    @Test
    void discardedOutputIsNotPrintedAndKeepsTheOrderGoing() throws Exception {
        Printer p = printer(Printer.Mode.GROUP, true, 1 << 20, 1 << 20);
        TaskOutput a = p.task(1, null);
        TaskOutput b = p.task(2, null);
        write(a, true, "killed\n");
        write(b, true, "b\n");
        b.ended();
        a.discard();
        a.discard();
        p.close();
        assertEquals("b\n", out());
    }
}

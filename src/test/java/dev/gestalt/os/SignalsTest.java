package dev.gestalt.os;

import org.junit.jupiter.api.Test;

import java.util.OptionalInt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class SignalsTest {

    @Test
    void namesAndNumbersBothWays() {
        assertEquals(OptionalInt.of(15), Signals.parse("TERM"));
        assertEquals(OptionalInt.of(15), Signals.parse("SIGTERM"));
        assertEquals(OptionalInt.of(15), Signals.parse("15"));
        assertEquals(OptionalInt.of(2), Signals.parse("sigint"));
        assertEquals(OptionalInt.of(9), Signals.parse("KILL"));
        assertEquals(OptionalInt.of(28), Signals.parse("WINCH"));
        assertEquals(OptionalInt.of(31), Signals.parse("SYS"));
        assertEquals(OptionalInt.empty(), Signals.parse("0"));
        assertEquals(OptionalInt.empty(), Signals.parse("32"));
        assertEquals(OptionalInt.empty(), Signals.parse("NOPE"));
        assertEquals(OptionalInt.empty(), Signals.parse(""));
        assertEquals("SEGV", Signals.name(11));
        assertEquals("HUP", Signals.name(1));
        assertThrows(IllegalArgumentException.class, () -> Signals.name(0));
        for (int i = 1; i <= Signals.max(); i++) {
            assertEquals(OptionalInt.of(i), Signals.parse(Signals.name(i)));
        }
    }

    @Test
    void namesMatchTheShell() throws Exception {
        Process p = new ProcessBuilder("/bin/bash", "-c", "kill -l 1 2 9 11 15 17 19 28 31").start();
        String[] names = new String(p.getInputStream().readAllBytes()).strip().split("\\s+");
        int[] numbers = {1, 2, 9, 11, 15, 17, 19, 28, 31};
        for (int i = 0; i < numbers.length; i++) {
            assertEquals(names[i], Signals.name(numbers[i]));
        }
    }
}

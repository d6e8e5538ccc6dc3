package dev.gestalt.command;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.gestalt.command.ForallGrammar.Halt;
import dev.gestalt.command.ForallGrammar.When;
import dev.gestalt.command.ForallGrammar.Why;
import org.junit.jupiter.api.Test;

/** forall's option values in GNU parallel's grammar. */
class ForallGrammarTest {

    @Test
    void jobs() throws Exception {
        assertEquals(4, ForallGrammar.jobs("4", 6));
        assertEquals(8, ForallGrammar.jobs("+2", 6));
        assertEquals(1, ForallGrammar.jobs("-9", 6));
        assertEquals(3, ForallGrammar.jobs("50%", 6));
        assertEquals(ForallGrammar.MAX_JOBS, ForallGrammar.jobs("0", 6));
        for (String bad : new String[] {"x", "", "1.5", "+5%", "9999999"}) {
            assertThrows(UsageException.class, () -> ForallGrammar.jobs(bad, 6), bad);
        }
    }

    @Test
    void halt() throws Exception {
        assertEquals(new Halt(When.NOW, Why.FAIL, 1, false), ForallGrammar.halt("now,fail=1"));
        assertEquals(new Halt(When.SOON, Why.SUCCESS, 30, true), ForallGrammar.halt("soon,success=30%"));
        assertEquals(new Halt(When.SOON, Why.FAIL, 1, false), ForallGrammar.halt("1"));
        assertEquals(new Halt(When.NOW, Why.SUCCESS, 1, false), ForallGrammar.halt("-2"));
        assertEquals(new Halt(When.SOON, Why.FAIL, 20, true), ForallGrammar.halt("20%"));
        assertEquals(Halt.NEVER, ForallGrammar.halt("0"));
        for (String bad : new String[] {"later,fail=1", "now,fail=0", "now,fail=101%", "now", "now,oops=1"}) {
            assertThrows(UsageException.class, () -> ForallGrammar.halt(bad), bad);
        }
    }

    @Test
    void timeout() throws Exception {
        assertEquals(30, ForallGrammar.seconds("30"));
        assertEquals(2.5, ForallGrammar.seconds("2.5"));
        assertEquals(120, ForallGrammar.seconds("2m"));
        assertEquals(5400, ForallGrammar.seconds("1h30m"));
        assertEquals(90061, ForallGrammar.seconds("1d1h1m1s"));
        for (String bad : new String[] {"", "0", "x", "10%", "1m2h"}) {
            assertThrows(UsageException.class, () -> ForallGrammar.seconds(bad), bad);
        }
    }
}

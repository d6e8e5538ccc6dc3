package dev.gestalt.process.forall;

import dev.gestalt.command.ForallGrammar.Halt;
import dev.gestalt.command.ForallGrammar.When;
import dev.gestalt.command.ForallGrammar.Why;
import java.util.function.IntSupplier;

/**
 * Counts forall's ended tasks and applies {@code --halt} as GNU parallel does: with a halt
 * condition each counted task is named on stderr ("this task failed: CMD"); once the
 * condition holds, no task starts any more ({@code soon}), and with {@code now} the running
 * ones are killed and their output dropped. Exit code: the number of failed tasks (101 past
 * 100); after {@code fail=1}, the failed task's own code; after {@code fail=N%}, the percentage
 * of tasks that failed; after {@code success}, 0.
 */
final class Halting {

    private final Halt halt;
    private long total = -1;
    private int done;
    private int failed;
    private int succeeded;
    private boolean triggered;
    private TaskOutput trigger;
    private int triggerCode;

    Halting(Halt halt) {
        this.halt = halt;
    }

    /** Whether the condition is a percentage: it needs the number of tasks before the first starts. */
    boolean needsTotal() {
        return halt.percent();
    }

    synchronized void total(long n) {
        this.total = n;
    }

    /**
     * Task {@code out} ended with {@code code} (its last attempt). False when a halt "now" came
     * first: the task is one of those killed, and is neither counted nor printed.
     */
    synchronized boolean ended(int code, String command, TaskOutput out, IntSupplier stillRunning) {
        if (killNow(out)) {
            return false;
        }
        done++;
        if (code == 0) {
            succeeded++;
        } else {
            failed++;
        }
        if (halt.when() == When.NEVER) {
            return true;
        }
        boolean counts = switch (halt.why()) {
            case FAIL -> code != 0;
            case SUCCESS -> code == 0;
            case DONE -> true;
        };
        if (counts) {
            String what = switch (halt.why()) {
                case FAIL -> "failed";
                case SUCCESS -> "succeeded";
                case DONE -> "finished";
            };
            out.trailer(false, "gestalt forall: this task " + what + ": " + command + "\n");
        }
        if (!triggered && counts && reached()) {
            triggered = true;
            trigger = out;
            triggerCode = code;
            int left = stillRunning.getAsInt();
            if (halt.when() == When.SOON && left > 0) {
                out.trailer(false, "gestalt forall: starting no more tasks; waiting for " + left + " to finish\n");
            }
        }
        return true;
    }

    private boolean reached() {
        int count = switch (halt.why()) {
            case FAIL -> failed;
            case SUCCESS -> succeeded;
            case DONE -> done;
        };
        return halt.percent() ? total > 0 && count * 100L >= (long) halt.value() * total : count >= halt.value();
    }

    /** No task may start any more. */
    synchronized boolean stopStarting() {
        return triggered;
    }

    /** A halt "now" holds and {@code out} is not the task that caused it: kill it, drop its output. */
    synchronized boolean killNow(TaskOutput out) {
        return triggered && halt.when() == When.NOW && out != trigger;
    }

    synchronized int failed() {
        return failed;
    }

    synchronized int exitCode() {
        if (triggered && halt.why() == Why.FAIL && halt.percent()) {
            return total > 0 ? (int) (failed * 100L / total) : failed;
        }
        if (triggered && halt.why() == Why.FAIL && halt.value() == 1) {
            return triggerCode;
        }
        if (triggered && halt.why() == Why.SUCCESS) {
            return 0;
        }
        return Math.min(failed, 101);
    }
}

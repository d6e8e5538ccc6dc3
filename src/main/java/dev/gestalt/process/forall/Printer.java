package dev.gestalt.process.forall;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Who may write task output to the forall's client, and when. As GNU parallel:
 * <ul>
 * <li>{@code GROUP} (default): each task's output in one piece when it ends, stdout then
 * stderr; in the order tasks end, or of their arguments with {@code -k}. A task's output is
 * held ({@link TaskOutput}, {@link OutputBudget}) until then. One task at a time is the
 * <em>owner</em> of the output: a task that has ended and is printed, or a running task whose
 * output outgrew what may be held and whose turn it is (nothing ended is waiting; with
 * {@code -k}, all earlier tasks are printed), which then streams its output as it comes;
 * the others keep holding theirs, and wait (their processes slowed by the pipe) when even the
 * spill budget is spent. The owner always progresses, so the output does too.</li>
 * <li>{@code LINE} ({@code --line-buffer}): whole lines as they come, lines of tasks
 * alternating; with {@code -k} the first unprinted task's lines come live, the others' are held.</li>
 * <li>{@code UNGROUP} ({@code -u}): as it comes.</li>
 * </ul>
 * Output is never dropped silently: what cannot be held or written is reported by the task
 * ({@link TaskOutput#deliveryError}), and a client gone ends the forall.
 */
final class Printer {

    enum Mode { GROUP, LINE, UNGROUP }

    /** Where output goes: the forall's client. One call is one write, never interleaved with another's. */
    interface Client {
        void write(boolean stdout, java.nio.ByteBuffer data) throws IOException;
    }

    private final Client client;
    final Mode mode;
    final boolean keepOrder;
    final OutputBudget budget;
    private final Runnable clientGone;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private TaskOutput owner;
    private long nextSeq = 1;
    private final Map<Long, TaskOutput> endedBySeq = new HashMap<>();
    private final ArrayDeque<TaskOutput> ended = new ArrayDeque<>();
    private int unprinted;
    private boolean closing;
    /** The forall is over (interrupted, or its client gone): nothing more is written. */
    private volatile boolean silenced;
    private final Thread thread;

    Printer(Client client, Mode mode, boolean keepOrder, OutputBudget budget, Runnable clientGone) {
        this.client = client;
        this.mode = mode;
        this.keepOrder = keepOrder;
        this.budget = budget;
        this.clientGone = clientGone;
        this.thread = Thread.ofVirtual().name("forall-printer").start(this::printEnded);
    }

    /** The output of task {@code seq} (tasks are numbered 1, 2, ... in the order they are made). */
    TaskOutput task(long seq, byte[] tag) {
        lock.lock();
        try {
            unprinted++;
        } finally {
            lock.unlock();
        }
        return new TaskOutput(this, seq, tag);
    }

    /** Whether task output is held at all (else each task writes as it comes). */
    boolean holds() {
        return mode == Mode.GROUP || keepOrder && mode == Mode.LINE;
    }

    /** {@code t} becomes the owner if it is its turn; true if it is (or already was). */
    boolean tryOwn(TaskOutput t) {
        lock.lock();
        try {
            if (owner == t) {
                return true;
            }
            boolean turn = keepOrder ? t.seq == nextSeq : ended.isEmpty();
            if (owner == null && turn) {
                owner = t;
                return true;
            }
            return false;
        } finally {
            lock.unlock();
        }
    }

    /** A task waiting for room or its turn waits here a little (budget freed elsewhere is not signalled). */
    void awaitChange() {
        lock.lock();
        try {
            changed.await(100, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            lock.unlock();
        }
    }

    /** Task {@code t} ended (or was discarded): print what it holds in its turn, or give up ownership. */
    void ended(TaskOutput t) {
        lock.lock();
        try {
            if (owner == t) {
                owner = null;
                printed(t);
            } else if (keepOrder) {
                endedBySeq.put(t.seq, t);
            } else {
                ended.add(t);
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Under the lock: {@code t} is printed; with -k the next in order may go. */
    private void printed(TaskOutput t) {
        unprinted--;
        if (keepOrder && t.seq == nextSeq) {
            nextSeq++;
        }
    }

    /** The printer's thread: ended tasks' held output, each in its turn. */
    private void printEnded() {
        while (true) {
            TaskOutput t;
            lock.lock();
            try {
                while (true) {
                    t = owner != null ? null : keepOrder ? endedBySeq.remove(nextSeq) : ended.poll();
                    if (t != null || closing && unprinted == 0) {
                        break;
                    }
                    changed.awaitUninterruptibly();
                }
                if (t == null) {
                    return;
                }
                owner = t;
            } finally {
                lock.unlock();
            }
            t.printHeld();
            lock.lock();
            try {
                owner = null;
                printed(t);
                changed.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    /** Output to the client, as one write (frames of one write are not interleaved with others'). */
    void write(boolean stdout, byte[] b, int off, int len) throws IOException {
        write(stdout, java.nio.ByteBuffer.wrap(b, off, len));
    }

    /** As {@link #write(boolean, byte[], int, int)}; the buffer is read during the call only. */
    void write(boolean stdout, java.nio.ByteBuffer data) throws IOException {
        if (!data.hasRemaining() || silenced) {
            return;
        }
        try {
            client.write(stdout, data);
        } catch (IOException e) {
            clientGone.run();
            throw e;
        }
    }

    /** From now on nothing is written to the client. */
    void silence() {
        silenced = true;
    }

    /** After every task ended or was discarded: waits until all is printed. */
    void close() throws InterruptedException {
        lock.lock();
        try {
            closing = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        thread.join();
    }
}

package dev.gestalt.process.forall;

import com.google.protobuf.ByteString;
import dev.gestalt.os.Signals;
import dev.gestalt.process.ProcessSpace;
import dev.gestalt.process.RunCommand;
import dev.gestalt.process.placement.Placement;
import dev.gestalt.process.placement.PlacementRequest;
import dev.gestalt.process.remote.RemoteExec;
import dev.gestalt.process.remote.Signaller;
import dev.gestalt.rpc.GestaltException;
import dev.gestalt.rpc.local.ClientSession;
import dev.gestalt.rpc.proto.ExecIn;
import dev.gestalt.rpc.proto.ProcessSpec;
import dev.gestalt.rpc.proto.Started;
import java.io.IOException;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The tasks of one forall: at most {@code -j} running, each in the lowest free job slot
 * ({@code {%}}), each placed like a run and retried elsewhere ({@code --retries}), killed when
 * it outlives {@code --timeout} (TERM, TERM, TERM, KILL, as parallel's default --termseq),
 * counted for {@code --halt}, logged ({@code --joblog}); and all of them ended at once on an
 * interrupt (Ctrl-C: the signal, then the end of their streams).
 */
final class Tasks {

    private final ProcessSpace space;
    private final RunCommand run;
    private final Signaller signaller;
    private final ClientSession client;
    private final Template template;
    private final Printer printer;
    private final JobLog joblog;
    private final Halting halting;
    private final int attempts;
    private final double timeoutSeconds;
    private final boolean tag;
    private final boolean[] slots;
    /** Tasks started and not ended; written under this object's lock, read without it for messages. */
    private volatile int running;
    private final Set<Attempt> attemptsRunning = ConcurrentHashMap.newKeySet();
    private volatile int interrupted;
    private volatile String failure;
    /** Nodes known to have the caller's working directory, and nodes known to lack it: each asked once. */
    private final Set<String> withFolder = ConcurrentHashMap.newKeySet();
    private final Set<String> withoutFolder = ConcurrentHashMap.newKeySet();

    /** One attempt of a task on one node. */
    private record Attempt(RemoteExec exec, String node, String gpid, TaskOutput out) {}

    Tasks(ProcessSpace space, RunCommand run, Signaller signaller, ClientSession client, Template template,
          Printer printer, JobLog joblog, Halting halting, int jobs, int attempts, double timeoutSeconds, boolean tag) {
        this.space = space;
        this.run = run;
        this.signaller = signaller;
        this.client = client;
        this.template = template;
        this.printer = printer;
        this.joblog = joblog;
        this.halting = halting;
        this.attempts = Math.max(1, attempts);
        this.timeoutSeconds = timeoutSeconds;
        this.tag = tag;
        this.slots = new boolean[jobs];
    }

    /** Whether no more tasks may start: interrupted, halted, or forall cannot go on. */
    boolean stopped() {
        return interrupted != 0 || halting.stopStarting() || failure != null;
    }

    int interruptedBy() {
        return interrupted;
    }

    String failure() {
        return failure;
    }

    /** forall cannot go on (e.g. its joblog cannot be written): no more tasks start. */
    synchronized void fail(String why) {
        if (failure == null) {
            failure = why;
        }
        notifyAll();
    }

    /** Waits for a free job slot; 0 when no task may start any more. */
    synchronized int slot() throws InterruptedException {
        while (running == slots.length && !stopped()) {
            wait();
        }
        if (stopped()) {
            return 0;
        }
        for (int i = 0; i < slots.length; i++) {
            if (!slots[i]) {
                slots[i] = true;
                running++;
                return i + 1;
            }
        }
        throw new IllegalStateException("no free slot although " + running + " < " + slots.length);
    }

    private synchronized void free(int slot) {
        slots[slot - 1] = false;
        running--;
        notifyAll();
    }

    /** Waits until every task has ended. */
    synchronized void awaitAll() throws InterruptedException {
        while (running > 0) {
            wait();
        }
    }

    /** Starts task {@code seq} for {@code args} in {@code slot} (from {@link #slot}). */
    void start(long seq, int slot, List<String> args) {
        byte[] tagBytes = tag ? (String.join(" ", args) + "\t").getBytes(java.nio.charset.StandardCharsets.UTF_8) : null;
        TaskOutput out = printer.task(seq, tagBytes);
        Template.Command command = template.command(args, seq, slot, client.request().env());
        Thread.ofVirtual().name("forall-task-" + seq).start(() -> {
            try {
                runTask(seq, command, out);
            } finally {
                free(slot);
            }
        });
    }

    /** A node for a task, as run places a process (its working directory checked), avoiding where it failed. */
    private Placement place(Set<String> failedOn) throws GestaltException.NoEligibleNode {
        Set<String> avoid = new HashSet<>(failedOn);
        avoid.addAll(withoutFolder);
        var request = PlacementRequest.ANY.avoiding(avoid);
        Placement p = space.place(request);
        if (withFolder.contains(p.node())) {
            return p;
        }
        Placement checked = run.checkFolder(client, request, p);
        if (!checked.node().equals(p.node())) {
            withoutFolder.add(p.node());
        }
        withFolder.add(checked.node());
        return checked;
    }

    private void runTask(long seq, Template.Command command, TaskOutput out) {
        Set<String> failedOn = new HashSet<>();
        int code = 255;
        String node = "-";
        long start = System.currentTimeMillis();
        var timedOut = new boolean[1];
        for (int attempt = 1; attempt <= attempts && !killed(out); attempt++) {
            if (attempt > 1) {
                out.retry();
            }
            Placement p;
            try {
                p = place(failedOn);
            } catch (GestaltException e) {
                out.trailer(false, "gestalt forall: " + e.getMessage() + "\n");
                break;
            }
            node = p.node();
            start = System.currentTimeMillis();
            timedOut[0] = false;
            code = once(node, command, out, timedOut);
            if (code == 0) {
                break;
            }
            failedOn.add(node);
        }
        if (out.deliveryError() != null && interrupted == 0) {
            out.trailer(false, "gestalt forall: task " + seq + ": " + out.deliveryError() + "\n");
            code = code == 0 ? 255 : code;
        }
        if (killed(out) || !halting.ended(code, command.line(), out, this::othersRunning)) {
            out.discard();
            return;
        }
        if (timedOut[0]) {
            out.trailer(false, "gestalt forall: task " + seq + " was killed after " + seconds() + " s (--timeout): "
                + command.line() + "\n");
        }
        if (joblog != null) {
            String line = JobLog.line(seq, node, start, System.currentTimeMillis() - start, out.stdoutBytes(),
                timedOut[0] ? -1 : code, timedOut[0] ? Signals.SIGTERM : 0, command.line());
            if (joblog.toStdout()) {
                out.trailer(true, line);
            } else {
                try {
                    joblog.write(line);
                } catch (ForallFailure e) {
                    fail(e.getMessage());
                }
            }
        }
        if (halting.killNow(null)) {
            killRunning(Signals.SIGTERM);
        }
        out.ended();
    }

    private String seconds() {
        return timeoutSeconds == Math.rint(timeoutSeconds) ? Long.toString((long) timeoutSeconds) : Double.toString(timeoutSeconds);
    }

    /** This task is to end without a trace: forall was interrupted, or another task's end halted it "now". */
    private boolean killed(TaskOutput out) {
        return interrupted != 0 || halting.killNow(out);
    }

    /** Not synchronized: called with the Halting lock held, while slot() holds this one and asks Halting. */
    private int othersRunning() {
        return running - 1;
    }

    /** One attempt on {@code node}: its exit code (255 with a line on its stderr when Gestalt failed). */
    private int once(String node, Template.Command command, TaskOutput out, boolean[] timedOut) {
        String gpid = space.newGpid().toString();
        ProcessSpec spec = run.spec(client, dev.gestalt.process.Gpid.parse(gpid), command.argv(), false, false);
        var done = new CompletableFuture<Integer>();
        var reason = new String[1];
        RemoteExec exec;
        space.placed(gpid, node);
        try {
            exec = RemoteExec.open(space::channel, node, ExecIn.newBuilder().setStart(spec).build(), false,
                new RemoteExec.Events() {
                    @Override
                    public void started(Started s) { }

                    @Override
                    public void stdout(ByteString data) throws IOException {
                        deliver(out, true, data);
                    }

                    @Override
                    public void stderr(ByteString data) throws IOException {
                        deliver(out, false, data);
                    }

                    @Override
                    public void exit(int code, String why) {
                        reason[0] = why;
                        done.complete(code);
                    }
                });
        } catch (Exception e) {
            space.ended(gpid);
            out.trailer(false, "gestalt forall: cannot start on " + node + ": " + e.getMessage() + "\n");
            return 255;
        }
        Attempt a = new Attempt(exec, node, gpid, out);
        attemptsRunning.add(a);
        try {
            if (killed(out)) {
                exec.cancel("forall ended");
            }
            try {
                exec.stdinEof();
            } catch (IOException e) {
                // ended before it could be told: nothing to read anyway
            }
            Thread watch = timeoutSeconds > 0 ? Thread.ofVirtual().start(() -> timeout(a, done, timedOut)) : null;
            int code = done.join();
            if (watch != null) {
                watch.interrupt();
            }
            if (code == 255 && reason[0] != null && !reason[0].isEmpty() && !killed(out) && out.deliveryError() == null) {
                out.trailer(false, "gestalt: " + reason[0] + "\n");
            }
            return code;
        } finally {
            attemptsRunning.remove(a);
            space.ended(gpid);
        }
    }

    private static void deliver(TaskOutput out, boolean stdout, ByteString data) throws IOException {
        try {
            out.write(stdout, data.asReadOnlyByteBuffer());
        } catch (IOException e) {
            out.failed(e.getMessage());
            throw e; // ends the task: its output cannot go anywhere
        }
    }

    /** --timeout: after the time, TERM, then TERM after 200 ms and 100 ms, KILL after 50 ms more. */
    private void timeout(Attempt a, CompletableFuture<Integer> done, boolean[] timedOut) {
        try {
            Thread.sleep(java.time.Duration.ofMillis((long) (timeoutSeconds * 1000)));
            int[] signals = {Signals.SIGTERM, Signals.SIGTERM, Signals.SIGTERM, Signals.SIGKILL};
            long[] pauses = {200, 100, 50, 25};
            for (int i = 0; i < signals.length && !done.isDone(); i++) {
                timedOut[0] = true;
                signaller.signal(a.node(), a.gpid(), signals[i], () -> { });
                Thread.sleep(pauses[i]);
            }
        } catch (InterruptedException e) {
            // the task ended first
        }
    }

    /** Ctrl-C (or another signal) reached forall: each task gets it, then its stream ends. */
    void interrupt(int signal) {
        synchronized (this) {
            if (interrupted != 0) {
                return;
            }
            interrupted = signal;
            notifyAll();
        }
        printer.silence();
        killRunning(signal);
    }

    /** Every running task gets {@code signal}, then its stream ends and its output is dropped. */
    private void killRunning(int signal) {
        for (Attempt a : attemptsRunning) {
            signaller.signal(a.node(), a.gpid(), signal, () -> { });
            a.exec().cancel("forall ended");
            a.out().discard();
        }
    }
}

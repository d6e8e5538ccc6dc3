package dev.gestalt.process.forall;

import dev.gestalt.command.ForallGrammar;
import dev.gestalt.command.ParsedArgs;
import dev.gestalt.process.ProcessSpace;
import dev.gestalt.process.RunCommand;
import dev.gestalt.process.remote.Signaller;
import dev.gestalt.rpc.local.ClientSession;
import dev.gestalt.rpc.local.CommandHandler;
import dev.gestalt.rpc.local.InputListener;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code gestalt forall}: SHOC's forall with GNU parallel's syntax and meaning (see the help
 * text and {@link Template}, {@link Inputs}, {@link Printer}, {@link Halting}), each task
 * placed like a {@code run}. Input is read as it comes when there is one source to read
 * (stdin or one file); several sources are read whole first (at most {@link #MAX_INPUT}).
 * Exit code: see {@link Halting}; 255 when forall cannot go on (an input file it cannot
 * read, a joblog it cannot write); 128+N when interrupted by signal N (Ctrl-C: 130), the
 * running tasks killed and nothing more printed.
 */
public final class ForallCommand implements CommandHandler {

    /** Bytes of input sources read before the first task when they cannot be read as tasks start. */
    static final long MAX_INPUT = 64L << 20;
    /** Unread stdin the client may send ahead (credit), and unread lines of a file source held. */
    private static final int READ_AHEAD = 256 * 1024;

    private final ProcessSpace space;
    private final RunCommand run;
    private final Signaller signaller;
    private final OutputBudget budget;

    /** @param spillDir where task output that must wait goes when memory is short (a folder of the daemon's) */
    public ForallCommand(ProcessSpace space, RunCommand run, Signaller signaller, Path spillDir) {
        this.space = space;
        this.run = run;
        this.signaller = signaller;
        this.budget = new OutputBudget(spillDir);
        budget.clean();
    }

    @Override
    public int handle(ClientSession s) throws Exception {
        ParsedArgs a = s.args();
        Inputs inputs = Inputs.parse(a.positionals(), a.all("arg-file"));
        Template template = Template.parse(inputs.template(), a.has("quote"));
        int cpus = Math.max(1, space.liveNodes().stream().mapToInt(n -> Math.max(1, n.cpus())).sum());
        int jobs = a.has("jobs") ? ForallGrammar.jobs(a.get("jobs"), cpus) : cpus;
        Halting halting = new Halting(a.has("halt") ? ForallGrammar.halt(a.get("halt")) : ForallGrammar.Halt.NEVER);
        double timeout = a.has("timeout") ? ForallGrammar.seconds(a.get("timeout")) : 0;
        Printer.Mode mode = a.has("ungroup") ? Printer.Mode.UNGROUP
            : a.has("line-buffer") ? Printer.Mode.LINE : Printer.Mode.GROUP;

        LineSource stdin = new LineSource("stdin", Long.MAX_VALUE);
        var tasksRef = new Tasks[1];
        var pendingSignal = new int[1];
        s.startInput(new InputListener() {
            @Override
            public void stdin(byte[] data) {
                try {
                    stdin.feed(data, 0, data.length, false);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }

            @Override
            public void stdinEof() {
                stdin.end();
            }

            @Override
            public void signal(int signal) {
                interrupt(signal);
            }

            @Override
            public void gone() {
                stdin.fail("the client went away");
                interrupt(dev.gestalt.os.Signals.SIGHUP);
            }

            private void interrupt(int signal) {
                synchronized (pendingSignal) {
                    if (tasksRef[0] == null) {
                        pendingSignal[0] = signal;
                    } else {
                        tasksRef[0].interrupt(signal);
                    }
                }
                stdin.fail("interrupted");
            }
        });
        if (inputs.readsStdin()) {
            s.grantStdin(READ_AHEAD);
        }
        Printer.Client toClient = (out, data) -> {
            if (out) {
                s.stdout(data);
            } else {
                s.stderr(data);
            }
        };
        var printer = new Printer(toClient, mode, a.has("keep-order"), budget, () -> {
            synchronized (pendingSignal) {
                if (tasksRef[0] != null) {
                    tasksRef[0].interrupt(dev.gestalt.os.Signals.SIGHUP);
                }
            }
        });
        List<UserProcess> readers = new ArrayList<>();
        List<LineSource> fileSources = new ArrayList<>();
        JobLog joblog = null;
        Tasks tasks = null;
        try {
            joblog = a.has("joblog") ? JobLog.open(a.get("joblog"), space, run, s) : null;
            tasks = new Tasks(space, run, signaller, s, template, printer, joblog, halting, jobs,
                a.intValue("retries", 1, 0, 1000), timeout, a.has("tag"));
            synchronized (pendingSignal) {
                tasksRef[0] = tasks;
                if (pendingSignal[0] != 0) {
                    tasks.interrupt(pendingSignal[0]);
                }
            }
            ArgStream args = arguments(inputs, open(inputs, stdin, s, readers, fileSources), halting, s, stdin);
            long seq = 0;
            for (List<String> next; !tasks.stopped() && (next = args.next()) != null; ) {
                int slot = tasks.slot();
                if (slot == 0) {
                    break;
                }
                tasks.start(++seq, slot, next);
            }
        } catch (ForallFailure e) {
            if (tasks == null) {
                s.err("gestalt forall: " + e.getMessage() + "\n");
                printer.close();
                return 255;
            }
            tasks.fail(e.getMessage());
        } catch (Exception | Error e) {
            if (tasks != null) {
                tasks.interrupt(dev.gestalt.os.Signals.SIGTERM);
                tasks.awaitAll();
            }
            printer.silence();
            printer.close();
            throw e;
        } finally {
            readers.forEach(UserProcess::kill); // done, or no longer needed (halted, interrupted)
            fileSources.forEach(f -> f.fail("forall ended")); // wakes a reader waiting for room
        }
        tasks.awaitAll();
        printer.close();
        if (tasks.interruptedBy() != 0) {
            if (joblog != null) {
                joblog.abandon();
            }
            return 128 + tasks.interruptedBy();
        }
        if (joblog != null && tasks.failure() == null) {
            try {
                joblog.close();
            } catch (ForallFailure e) {
                tasks.fail(e.getMessage());
            }
        } else if (joblog != null) {
            joblog.abandon();
        }
        if (tasks.failure() != null) {
            s.err("gestalt forall: " + tasks.failure() + "\n");
            return 255;
        }
        return halting.exitCode();
    }

    /** The tasks' arguments, one list per task (a value per input source); null at the end. */
    private interface ArgStream {
        List<String> next() throws ForallFailure, InterruptedException;
    }

    /** A line source per input source (lists too), reading files as the caller; stdin is {@code stdin}. */
    private List<LineSource> open(Inputs inputs, LineSource stdin, ClientSession s, List<UserProcess> readers,
                                  List<LineSource> files) throws ForallFailure {
        List<LineSource> out = new ArrayList<>();
        for (Inputs.Source src : inputs.sources()) {
            if (src.file() == null) {
                out.add(null);
            } else if (src.file().equals("-")) {
                out.add(stdin);
            } else {
                out.add(read(src.file(), inputs.streams() ? READ_AHEAD : Long.MAX_VALUE, s, readers));
                files.add(out.getLast());
            }
        }
        return out;
    }

    /** The lines of {@code file}, read by {@code cat} run as the caller. */
    private LineSource read(String file, long capacity, ClientSession s, List<UserProcess> readers) throws ForallFailure {
        LineSource lines = new LineSource(file, capacity);
        UserProcess cat;
        try {
            cat = UserProcess.start(space, run, s, List.of("cat", "--", file), data -> {
                try {
                    byte[] b = data.toByteArray();
                    lines.feed(b, 0, b.length, true);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            cat.closeInput();
        } catch (Exception e) {
            throw new ForallFailure("cannot read " + file + ": " + e.getMessage());
        }
        readers.add(cat);
        cat.exit().whenComplete((code, t) -> {
            if (code != null && code == 0) {
                lines.end();
            } else {
                String why = cat.stderr().replaceFirst("^cat: ", "").replaceFirst("^" + java.util.regex.Pattern.quote(file) + ": ", "");
                lines.fail("cannot read " + file + ": " + (why.isEmpty() ? "exit " + code : why));
            }
        });
        return lines;
    }

    /** The tasks' arguments in order: as they come from one streamed source, else every combination. */
    private ArgStream arguments(Inputs inputs, List<LineSource> sources, Halting halting, ClientSession s,
                                LineSource stdin) throws ForallFailure, InterruptedException {
        if (inputs.streams() && !halting.needsTotal()) {
            LineSource only = sources.getFirst();
            return () -> {
                String line = only.next();
                giveCredit(only, stdin, s);
                return line == null ? null : List.of(line);
            };
        }
        List<List<String>> values = new ArrayList<>();
        long bytes = 0;
        for (int i = 0; i < sources.size(); i++) {
            LineSource src = sources.get(i);
            if (src == null) {
                values.add(inputs.sources().get(i).values());
                continue;
            }
            List<String> lines = new ArrayList<>();
            for (String l; (l = src.next()) != null; ) {
                bytes += l.length() + 1;
                if (bytes > MAX_INPUT) {
                    throw new ForallFailure("the input sources hold more than " + (MAX_INPUT >> 20)
                        + " MiB; with one source (stdin or one file) forall reads it as tasks start");
                }
                lines.add(l);
                giveCredit(src, stdin, s);
            }
            values.add(lines);
        }
        Inputs.Combinations all = inputs.combinations(values);
        halting.total(all.size());
        return () -> all.hasNext() ? all.next() : null;
    }

    private static void giveCredit(LineSource src, LineSource stdin, ClientSession s) {
        if (src == stdin) {
            long c = stdin.consumed();
            if (c > 0) {
                s.grantStdin((int) Math.min(Integer.MAX_VALUE, c));
            }
        }
    }
}

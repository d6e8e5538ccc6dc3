package dev.gestalt.process.forall;

import dev.gestalt.process.ProcessSpace;
import dev.gestalt.process.RunCommand;
import dev.gestalt.rpc.local.ClientSession;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * {@code --joblog FILE}: a header, then one line per finished task in GNU parallel's format
 * (Seq, Host: the execution node, Starttime, JobRuntime, Send, Receive: bytes of stdout,
 * Exitval: -1 for a task killed by --timeout, Signal, Command), in the order tasks end. The
 * file is created and written by a process of the caller's ({@link UserProcess}), never by the
 * daemon; {@code -} means forall's stdout, each line right after its task's output.
 */
final class JobLog {

    static final String HEADER = "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n";
    private static final String WRITER = "exec 3>\"$1\" || exit 1; echo ready; exec cat >&3";

    private final String file;
    private final UserProcess writer;

    private JobLog(String file, UserProcess writer) {
        this.file = file;
        this.writer = writer;
    }

    /** Creates (truncates) {@code file} as the caller; fails at once when the caller cannot. */
    static JobLog open(String file, ProcessSpace space, RunCommand run, ClientSession s) throws ForallFailure {
        if (file.equals("-")) {
            s.out(HEADER); // before any task can print
            return new JobLog(file, null);
        }
        var ready = new CompletableFuture<Void>();
        UserProcess w;
        try {
            w = UserProcess.start(space, run, s, List.of("/bin/sh", "-c", WRITER, "sh", file), out -> ready.complete(null));
            CompletableFuture.anyOf(ready, w.exit()).get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new ForallFailure("cannot write --joblog " + file + ": " + e.getMessage());
        }
        if (!ready.isDone()) {
            throw new ForallFailure("cannot write --joblog " + file + ": " + w.stderr());
        }
        JobLog log = new JobLog(file, w);
        log.write(HEADER);
        return log;
    }

    /** Whether lines go to forall's stdout (after each task's output) rather than to a file. */
    boolean toStdout() {
        return writer == null;
    }

    /** The line of one finished task. */
    static String line(long seq, String host, long startMillis, long runtimeMillis, long received, int exitval,
                       int signal, String command) {
        return String.format(Locale.ROOT, "%d\t%s\t%.3f\t%10.3f\t%d\t%d\t%d\t%d\t%s%n", seq, host, startMillis / 1000.0,
            runtimeMillis / 1000.0, 0, received, exitval, signal, command);
    }

    /** Appends a line to the file (tasks end on many threads: one line at a time). */
    synchronized void write(String line) throws ForallFailure {
        try {
            writer.write(line.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new ForallFailure("cannot write --joblog " + file + ": " + writerError(e.getMessage()));
        }
    }

    private String writerError(String fallback) {
        String e = writer.stderr();
        return e.isEmpty() ? fallback : e;
    }

    /** All lines are written: ends the writer; an error if it did not write them all. */
    void close() throws ForallFailure {
        if (writer == null) {
            return;
        }
        int code;
        try {
            writer.closeInput();
            code = writer.exit().get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            writer.kill();
            throw new ForallFailure("the joblog " + file + " may be incomplete: " + e.getMessage());
        }
        if (code != 0) {
            throw new ForallFailure("the joblog " + file + " may be incomplete: " + writerError("its writer exited " + code));
        }
    }

    /** forall is interrupted: the writer goes (the lines so far are in the file). */
    void abandon() {
        if (writer != null) {
            writer.closeInput();
        }
    }
}

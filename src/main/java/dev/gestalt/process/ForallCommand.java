package dev.gestalt.process;

import com.google.protobuf.ByteString;
import dev.gestalt.command.ParsedArgs;
import dev.gestalt.process.placement.Placement;
import dev.gestalt.process.placement.PlacementRequest;
import dev.gestalt.process.remote.RemoteExec;
import dev.gestalt.rpc.GestaltException;
import dev.gestalt.rpc.local.ClientSession;
import dev.gestalt.rpc.local.CommandHandler;
import dev.gestalt.rpc.local.InputListener;
import dev.gestalt.rpc.proto.ExecIn;
import dev.gestalt.rpc.proto.ProcessSpec;
import dev.gestalt.rpc.proto.Started;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;

/**
 * {@code gestalt forall}: SHOC's forall with GNU parallel's syntax. One task
 * per argument, each placed like a {@code run}, at most {@code -j} at once;
 * each task's output is printed in one piece when it ends (stdout, then
 * stderr). Exit code: the number of failed tasks, 101 for more than 100.
 * Commands are argv, not shell lines: {@code sh -c '...'} gives a shell.
 */
public final class ForallCommand implements CommandHandler {

    private final ProcessSpace space;
    private final RunCommand run;

    public ForallCommand(ProcessSpace space, RunCommand run) {
        this.space = space;
        this.run = run;
    }

    /** The output of one finished task. */
    private record Result(int code, byte[] out, byte[] err) {}

    @Override
    public int handle(ClientSession s) throws Exception {
        ParsedArgs a = s.args();
        List<String> pos = a.positionals();
        int sep = pos.indexOf(":::");
        List<String> template = sep < 0 ? pos : pos.subList(0, sep);
        Set<RemoteExec> running = ConcurrentHashMap.newKeySet();
        var cancelled = new CompletableFuture<Void>();
        var stdin = new ByteArrayOutputStream();
        var stdinDone = new CompletableFuture<Boolean>();
        s.startInput(new InputListener() {
            @Override
            public void stdin(byte[] data) {
                stdin.writeBytes(data);
                s.grantStdin(data.length);
            }

            @Override
            public void stdinEof() {
                stdinDone.complete(true);
            }

            @Override
            public void signal(int signal) {
                cancelled.complete(null);
                running.forEach(r -> r.cancel("forall interrupted"));
            }

            @Override
            public void gone() {
                stdinDone.complete(false);
                signal(15);
            }
        });
        List<String> args;
        if (sep >= 0) {
            args = pos.subList(sep + 1, pos.size());
        } else {
            s.grantStdin(256 * 1024);
            if (!stdinDone.join()) {
                return 1; // the client went away while sending arguments
            }
            args = lines(stdin.toString(StandardCharsets.UTF_8));
        }
        int cpus = space.liveNodes().stream().mapToInt(n -> Math.max(1, n.cpus())).sum();
        int jobs = a.intValue("jobs", Math.max(1, cpus), 1, 100_000);
        int retries = a.intValue("retries", 0, 0, 1000);
        boolean tag = a.has("tag");
        boolean keepOrder = a.has("keep-order");

        Semaphore slots = new Semaphore(jobs);
        List<CompletableFuture<Result>> results = new ArrayList<>();
        for (String arg : args) {
            CompletableFuture<Result> f = new CompletableFuture<>();
            results.add(f);
            slots.acquire();
            if (cancelled.isDone()) {
                slots.release();
                f.complete(new Result(255, new byte[0], new byte[0]));
                continue;
            }
            List<String> argv = substitute(template, arg);
            Thread.ofVirtual().start(() -> {
                try {
                    f.complete(runTask(s, argv, retries, running, cancelled));
                } catch (Exception e) {
                    f.complete(new Result(255, new byte[0], ("gestalt forall: " + e.getMessage() + "\n").getBytes(StandardCharsets.UTF_8)));
                } finally {
                    slots.release();
                }
            });
            if (!keepOrder) {
                f.thenAccept(r -> print(s, r, tag, arg));
            }
        }
        int failed = 0;
        for (int i = 0; i < results.size(); i++) {
            Result r = results.get(i).join();
            if (keepOrder) {
                print(s, r, tag, args.get(i));
            }
            if (r.code() != 0) {
                failed++;
            }
        }
        synchronized (s) {
            return Math.min(failed, 101);
        }
    }

    private Result runTask(ClientSession s, List<String> argv, int retries, Set<RemoteExec> running,
                           CompletableFuture<Void> cancelled) throws Exception {
        Set<String> failedOn = new HashSet<>();
        Result last = null;
        for (int attempt = 0; attempt <= retries && !cancelled.isDone(); attempt++) {
            Placement p;
            try {
                p = space.place(PlacementRequest.ANY.avoiding(failedOn));
            } catch (GestaltException e) {
                return new Result(255, new byte[0], ("gestalt forall: " + e.getMessage() + "\n").getBytes(StandardCharsets.UTF_8));
            }
            ProcessSpec spec = run.spec(s, space.newGpid(), argv, false, false);
            last = once(p.node(), spec, running);
            if (last.code() == 0) {
                return last;
            }
            failedOn.add(p.node());
        }
        return last == null ? new Result(255, new byte[0], new byte[0]) : last;
    }

    private Result once(String node, ProcessSpec spec, Set<RemoteExec> running) throws Exception {
        var out = new ByteArrayOutputStream();
        var err = new ByteArrayOutputStream();
        var done = new CompletableFuture<Integer>();
        RemoteExec exec = RemoteExec.open(space.channel(node), node, ExecIn.newBuilder().setStart(spec).build(), false,
            new RemoteExec.Events() {
                @Override
                public void started(Started st) { }

                @Override
                public void stdout(ByteString data) {
                    out.writeBytes(data.toByteArray());
                }

                @Override
                public void stderr(ByteString data) {
                    err.writeBytes(data.toByteArray());
                }

                @Override
                public void exit(int code, String reason) {
                    if (code == 255 && reason != null && !reason.isEmpty()) {
                        err.writeBytes(("gestalt: " + reason + "\n").getBytes(StandardCharsets.UTF_8));
                    }
                    done.complete(code);
                }
            });
        running.add(exec);
        space.track(exec);
        try {
            try {
                if (!done.isDone()) {
                    exec.stdinEof();
                }
            } catch (java.io.IOException e) {
                // the task ended before it could be told: nothing to read anyway
            }
            return new Result(done.get(), out.toByteArray(), err.toByteArray());
        } finally {
            running.remove(exec);
            space.untrack(exec);
        }
    }

    static List<String> substitute(List<String> template, String arg) {
        List<String> argv = new ArrayList<>(template.size() + 1);
        boolean used = false;
        for (String t : template) {
            if (t.contains("{}")) {
                used = true;
                argv.add(t.replace("{}", arg));
            } else {
                argv.add(t);
            }
        }
        if (!used) {
            argv.add(arg);
        }
        return argv;
    }

    private static void print(ClientSession s, Result r, boolean tag, String arg) {
        synchronized (s) {
            try {
                byte[] o = tag ? tagged(r.out(), arg) : r.out();
                byte[] e = tag ? tagged(r.err(), arg) : r.err();
                if (o.length > 0) {
                    s.stdout(o, 0, o.length);
                }
                if (e.length > 0) {
                    s.stderr(e, 0, e.length);
                }
            } catch (java.io.IOException ex) {
                // the client went away; tasks are being cancelled
            }
        }
    }

    static byte[] tagged(byte[] data, String arg) {
        if (data.length == 0) {
            return data;
        }
        var out = new ByteArrayOutputStream(data.length + 64);
        byte[] prefix = (arg + "\t").getBytes(StandardCharsets.UTF_8);
        boolean lineStart = true;
        for (byte b : data) {
            if (lineStart) {
                out.writeBytes(prefix);
            }
            out.write(b);
            lineStart = b == '\n';
        }
        return out.toByteArray();
    }

    static List<String> lines(String text) {
        List<String> lines = new ArrayList<>();
        for (String l : text.split("\n", -1)) {
            if (!l.isEmpty()) {
                lines.add(l);
            }
        }
        return lines;
    }
}

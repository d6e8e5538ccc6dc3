package dev.gestalt.process;

import dev.gestalt.command.ParsedArgs;
import dev.gestalt.command.Sizes;
import dev.gestalt.format.Table;
import dev.gestalt.cluster.LoadEntry;
import dev.gestalt.cluster.LoadReport;
import dev.gestalt.cluster.NodesCommand;
import dev.gestalt.rpc.local.ClientSession;
import dev.gestalt.rpc.local.CommandHandler;
import dev.gestalt.rpc.local.InputListener;
import dev.gestalt.rpc.proto.ProcInfo;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** {@code gestalt top}: the cluster at a glance — nodes, then the busiest processes — refreshed until Ctrl-C. */
public final class TopCommand implements CommandHandler {

    private static final int TOP_PROCESSES = 15;

    private final ProcessSpace space;

    public TopCommand(ProcessSpace space) {
        this.space = space;
    }

    @Override
    public int handle(ClientSession s) throws Exception {
        ParsedArgs a = s.args();
        if (a.has("once")) {
            s.out(screen());
            return 0;
        }
        int delay = a.intValue("delay", 2, 1, 3600);
        var stop = new CompletableFuture<Void>();
        s.startInput(new InputListener() {
            @Override
            public void signal(int signal) {
                stop.complete(null);
            }

            @Override
            public void gone() {
                stop.complete(null);
            }
        });
        while (!stop.isDone()) {
            s.out("\033[H\033[2J" + screen());
            try {
                stop.get(delay, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                // next frame
            }
        }
        return 0;
    }

    String screen() {
        StringBuilder sb = new StringBuilder();
        List<LoadEntry> nodes = NodesCommand.sorted(space.membership());
        long up = nodes.stream().filter(e -> e.inView()).count();
        double load = nodes.stream().filter(LoadEntry::inView).mapToDouble(e -> e.report().load()).sum();
        int cpus = nodes.stream().filter(LoadEntry::inView).mapToInt(e -> e.report().cpus()).sum();
        sb.append(String.format(Locale.ROOT, "gestalt top - %s  nodes: %d up, %d down  cpus: %d  load: %.2f%n%n",
            LocalTime.now().format(DateTimeFormatter.ofPattern("HH:mm:ss")), up, nodes.size() - up, cpus, load));
        Table nt = new Table("NODE", "STATE", ">CPUS", ">LOAD", ">FREE", ">PROCS");
        for (LoadEntry e : nodes) {
            LoadReport r = e.report();
            nt.row(r.node(), NodesCommand.state(e), r.cpus(), String.format(Locale.ROOT, "%.2f", r.load()),
                Sizes.human(r.memFreeBytes()), r.processes());
        }
        sb.append(nt).append('\n');
        var listing = ProcessQueries.list(space, false);
        List<ProcInfo> procs = new ArrayList<>(listing.procs());
        procs.removeIf(p -> p.getState().equals("exited"));
        procs.sort(Comparator.comparingDouble(ProcInfo::getCpuPercent).reversed());
        Table pt = new Table("GPID", "NODE", "USER", ">%CPU", ">RSS", ">TIME", "COMMAND");
        for (ProcInfo p : procs.subList(0, Math.min(TOP_PROCESSES, procs.size()))) {
            pt.row(p.getGpid(), p.getNode(), p.getUser(), String.format(Locale.ROOT, "%.1f", p.getCpuPercent()),
                Sizes.human(p.getRssBytes()), PsCommand.cpuTime(p.getCpuMillis()), p.getCommand());
        }
        sb.append(pt);
        for (String u : listing.unreachable()) {
            sb.append("node ").append(u).append(" did not answer\n");
        }
        return sb.toString();
    }
}

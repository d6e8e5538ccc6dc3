package dev.gestalt.process;

import dev.gestalt.format.Json;
import dev.gestalt.command.ParsedArgs;
import dev.gestalt.command.Sizes;
import dev.gestalt.format.Table;
import dev.gestalt.rpc.GestaltException;
import dev.gestalt.rpc.local.ClientSession;
import dev.gestalt.rpc.local.CommandHandler;
import dev.gestalt.rpc.proto.ListRequest;
import dev.gestalt.rpc.proto.ProcInfo;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** {@code gestalt ps}: the processes of the whole cluster, as one machine's ps would show them. */
public final class PsCommand implements CommandHandler {

    private final ProcessSpace space;

    public PsCommand(ProcessSpace space) {
        this.space = space;
    }

    @Override
    public int handle(ClientSession s) throws Exception {
        ParsedArgs a = s.args();
        boolean every = a.has("every");
        boolean ended = a.has("all") && !every;
        List<String> nodes = space.members();
        if (a.has("node")) {
            String node = space.member(a.get("node"));
            if (node == null) {
                throw new GestaltException.NotFound("node " + a.get("node") + " is not in the cluster or is down");
            }
            nodes = List.of(node);
        }
        var listing = ProcessQueries.list(space, nodes, ListRequest.newBuilder().setAllOsProcesses(every).setEnded(ended).build());
        List<ProcInfo> procs = new ArrayList<>();
        for (ProcInfo p : listing.procs()) {
            if (a.has("user") && !a.get("user").equals(p.getUser()) && !a.get("user").equals(String.valueOf(p.getUid()))) {
                continue;
            }
            procs.add(p);
        }
        procs.sort(Comparator.comparing(ProcInfo::getNode).thenComparingLong(ProcInfo::getStartEpochMillis)
            .thenComparingLong(ProcInfo::getPid));
        if (a.has("json")) {
            List<Object> out = new ArrayList<>();
            for (ProcInfo p : procs) {
                out.add(json(p, every));
            }
            s.out(Json.write(out) + "\n");
        } else {
            Table t = ended
                ? new Table("GPID", "NODE", "USER", "STATE", ">%CPU", ">RSS", ">TIME", "START", "END", "COMMAND")
                : every ? new Table("ID", "NODE", "USER", "STATE", ">%CPU", ">RSS", ">TIME", "START", "COMMAND")
                : new Table("GPID", "NODE", "USER", "STATE", ">%CPU", ">RSS", ">TIME", "START", ">MOVES", "COMMAND");
            for (ProcInfo p : procs) {
                List<String> cells = new ArrayList<>(List.of(every ? p.getNode() + ":" + p.getPid() : p.getGpid(),
                    p.getNode(), p.getUser(), state(p),
                    String.format(Locale.ROOT, "%.1f", p.getCpuPercent()), Sizes.human(p.getRssBytes()),
                    cpuTime(p.getCpuMillis()), start(p.getStartEpochMillis())));
                if (ended) {
                    cells.add(start(p.getEndEpochMillis()));
                } else if (!every) {
                    cells.add(Integer.toString(p.getMoves()));
                }
                cells.add(p.getCommand());
                t.row(cells.toArray(String[]::new));
            }
            s.out(t.toString());
        }
        for (String u : listing.unreachable()) {
            s.err("gestalt ps: node " + u + " did not answer\n");
        }
        return 0;
    }

    private static Map<String, Object> json(ProcInfo p, boolean every) {
        Map<String, Object> m = new LinkedHashMap<>();
        if (every) {
            m.put("id", p.getNode() + ":" + p.getPid());
        } else {
            m.put("gpid", p.getGpid());
            m.put("home", p.getHomeNode());
            m.put("detached", p.getDetached());
            m.put("moves", p.getMoves());
        }
        m.put("node", p.getNode());
        m.put("pid", p.getPid());
        m.put("user", p.getUser());
        m.put("state", p.getState());
        if (p.getProgramEnded()) {
            m.put("program_ended", true);
        }
        if (p.getState().equals("exited") || p.getProgramEnded()) {
            m.put("exit_code", p.getExitCode());
            m.put("end", p.getEndEpochMillis() == 0 ? null : Instant.ofEpochMilli(p.getEndEpochMillis()).toString());
        }
        m.put("cpu_percent", p.getCpuPercent());
        m.put("rss_bytes", p.getRssBytes());
        m.put("cpu_millis", p.getCpuMillis());
        m.put("start", p.getStartEpochMillis() == 0 ? null : Instant.ofEpochMilli(p.getStartEpochMillis()).toString());
        m.put("command", p.getCommand());
        return m;
    }

    static String cpuTime(long millis) {
        long s = millis / 1000;
        return s >= 3600 ? String.format("%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
            : String.format("%d:%02d", s / 60, s % 60);
    }

    static String start(long epochMillis) {
        if (epochMillis == 0) {
            return "-";
        }
        var t = Instant.ofEpochMilli(epochMillis).atZone(ZoneId.systemDefault());
        return t.toLocalDate().equals(LocalDate.now()) ? t.format(DateTimeFormatter.ofPattern("HH:mm"))
            : t.format(DateTimeFormatter.ofPattern("MMMdd", Locale.ROOT));
    }

    /**
     * The STATE cell: "exit N" once the job ended; while what its program started runs on after the
     * program ended, their state and the program's code ("sleeping, exit 0").
     */
    private static String state(ProcInfo p) {
        if (p.getState().equals("exited")) {
            return "exit " + p.getExitCode();
        }
        return p.getProgramEnded() ? p.getState() + ", exit " + p.getExitCode() : p.getState();
    }
}

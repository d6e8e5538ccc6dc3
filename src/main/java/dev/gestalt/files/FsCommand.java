package dev.gestalt.files;

import dev.gestalt.command.ArgParser;
import dev.gestalt.command.Commands;
import dev.gestalt.command.ParsedArgs;
import dev.gestalt.command.Sizes;
import dev.gestalt.command.Validation;
import dev.gestalt.format.Json;
import dev.gestalt.format.Table;
import dev.gestalt.rpc.local.ClientSession;
import dev.gestalt.rpc.local.CommandHandler;

/** {@code gestalt fs status [--json]}: this node's view of the file space ({@link FsStatus}). Exit 0 even when degraded: the health says it. */
public final class FsCommand implements CommandHandler {

    private final FileSpace space;

    public FsCommand(FileSpace space) {
        this.space = space;
    }

    @Override
    public int handle(ClientSession s) throws Exception {
        ParsedArgs a = ArgParser.parse(Commands.find("fs"), s.request().args());
        Validation.check(Commands.find("fs"), a);
        FsStatus st = space.status();
        if (a.has("json")) {
            s.out(Json.write(st.toJson()) + "\n");
            return 0;
        }
        StringBuilder sb = new StringBuilder();
        if (st.engine().equals("none")) {
            sb.append("No file space: ").append(st.detail()).append(".\n");
            s.out(sb.toString());
            return 0;
        }
        sb.append("engine:  ").append(st.engine()).append(st.version().isEmpty() ? "" : " " + st.version()).append('\n');
        sb.append("mount:   ").append(st.mount()).append('\n');
        sb.append("health:  ").append(st.health()).append(st.detail().isEmpty() ? "" : " (" + st.detail() + ")").append('\n');
        if (st.engine().equals("moosefs")) {
            sb.append("master:  ").append(st.master().isEmpty() ? "-" : st.master()).append(" (epoch ").append(st.epoch()).append(")\n");
            sb.append("metaloggers: ").append(st.metaloggers().isEmpty() ? "-" : String.join(", ", st.metaloggers())).append('\n');
            sb.append("copies:  ").append(st.copies()).append(" wanted; chunks under goal: ")
                .append(st.underGoal() < 0 ? "?" : st.underGoal()).append(", missing: ").append(st.missing() < 0 ? "?" : st.missing()).append('\n');
        }
        sb.append('\n');
        Table t = new Table("NODE", "ADDRESS", "ROLES", "MOUNTED", ">USED", ">TOTAL");
        for (FsStatus.Node n : st.nodes()) {
            t.row(n.name(), n.address().isEmpty() ? "-" : n.address(), n.roles().isEmpty() ? "-" : String.join(",", n.roles()),
                n.mounted() ? "yes" : "no", n.usedBytes() < 0 ? "-" : Sizes.human(n.usedBytes()),
                n.totalBytes() < 0 ? "-" : Sizes.human(n.totalBytes()));
        }
        sb.append(t);
        s.out(sb.toString());
        return 0;
    }
}

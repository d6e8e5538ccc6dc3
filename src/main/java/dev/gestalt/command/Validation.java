package dev.gestalt.command;

import java.util.List;

/** The operand rules of each command, checked in the CLI (fast usage errors) and again on the node. */
public final class Validation {

    private Validation() {}

    public static void check(CommandSpec spec, ParsedArgs a) throws UsageException {
        List<String> pos = a.positionals();
        String n = spec.name();
        switch (n) {
            case "run" -> {
                if (pos.isEmpty()) {
                    throw new UsageException(n, "missing command to run");
                }
                if (a.has("tty") && a.has("no-tty")) {
                    throw new UsageException(n, "-t and -T contradict each other");
                }
                if (a.has("tty") && a.has("detach")) {
                    // allowed: a detached process with a terminal, to attach later
                }
                a.intValue("cpus", 0, 0, 1_000_000);
                if (a.has("checkpoint-every")) {
                    if (!a.has("detach")) {
                        throw new UsageException(n, "--checkpoint-every needs -d (only detached processes are checkpointed)");
                    }
                    double every;
                    try {
                        every = ForallGrammar.seconds(a.get("checkpoint-every"));
                    } catch (UsageException e) {
                        throw new UsageException(n, "--checkpoint-every takes a duration, e.g. 30s, 10m, 1h: "
                            + a.get("checkpoint-every"));
                    }
                    if (every < 10) {
                        throw new UsageException(n, "--checkpoint-every is 10s at least");
                    }
                }
                if (a.has("mem")) {
                    Sizes.parse(n, a.get("mem"));
                }
            }
            case "kill" -> {
                if (a.has("list")) {
                    return;
                }
                boolean select = a.has("user") || a.has("all");
                if (pos.isEmpty() && !select) {
                    throw new UsageException(n, "missing process ID (a GPID or NODE:PID), -u USER or --all");
                }
                if (!pos.isEmpty() && select || a.has("user") && a.has("all")) {
                    throw new UsageException(n, "give IDs, -u USER or --all, one of them");
                }
                if (a.has("signal") && a.all("signal").size() > 1) {
                    throw new UsageException(n, "give one signal");
                }
            }
            case "wait" -> {
                if (pos.isEmpty() && !a.has("all")) {
                    throw new UsageException(n, "missing GPID (or --all)");
                }
                if (!pos.isEmpty() && a.has("all")) {
                    throw new UsageException(n, "give GPIDs or --all, not both");
                }
            }
            case "migrate" -> {
                if (pos.isEmpty() || pos.size() > 2) {
                    throw new UsageException(n, pos.isEmpty() ? "missing GPID" : "give one GPID and at most one NODE");
                }
                String method = a.get("method");
                if (method != null && !method.equals("post-copy") && !method.equals("stop-and-copy")) {
                    throw new UsageException(n, "--method is post-copy or stop-and-copy, not '" + method + "'");
                }
            }
            case "checkpoint" -> {
                if (pos.size() != 1) {
                    throw new UsageException(n, pos.isEmpty() ? "missing GPID" : "give one GPID");
                }
            }
            case "checkpoints" -> {
                if (!pos.isEmpty() && !pos.getFirst().equals("rm")) {
                    throw new UsageException(n, "unexpected operand '" + pos.getFirst() + "' (rm NAME... removes)");
                }
                if (pos.size() == 1) {
                    throw new UsageException(n, "rm: missing NAME");
                }
            }
            case "restart" -> {
                if (pos.size() != 1) {
                    throw new UsageException(n, pos.isEmpty() ? "missing CHECKPOINT" : "give one CHECKPOINT");
                }
            }
            case "events" -> {
                if (!pos.isEmpty()) {
                    throw new UsageException(n, "unexpected operand '" + pos.getFirst() + "'");
                }
            }
            case "drain", "undrain" -> {
                if (pos.size() != 1) {
                    throw new UsageException(n, pos.isEmpty() ? "missing NODE" : "give one NODE");
                }
            }
            case "logs", "attach" -> {
                if (pos.size() != 1) {
                    throw new UsageException(n, pos.isEmpty() ? "missing GPID" : "give one GPID");
                }
            }
            case "forall" -> {
                if (a.has("jobs")) {
                    ForallGrammar.jobs(a.get("jobs"), 1);
                }
                a.intValue("retries", 1, 0, 1000);
                if (a.has("halt")) {
                    ForallGrammar.halt(a.get("halt"));
                }
                if (a.has("timeout")) {
                    ForallGrammar.seconds(a.get("timeout"));
                }
                if (a.has("ungroup") && a.has("line-buffer")) {
                    throw new UsageException(n, "-u and --line-buffer contradict each other");
                }
            }
            case "top" -> a.intValue("delay", 2, 1, 3600);
            case "cluster" -> {
                if (pos.size() != 1 || !List.of("up", "down", "status").contains(pos.getFirst())) {
                    throw new UsageException(n, "say up, down or status");
                }
                a.intValue("nodes", 3, 1, 64);
            }
            case "demo" -> a.intValue("nodes", 3, 1, 64);
            case "fs" -> {
                if (pos.size() != 1 || !pos.getFirst().equals("status")) {
                    throw new UsageException(n, pos.isEmpty() ? "say status" : "unknown subcommand '" + pos.getFirst() + "' (say status)");
                }
            }
            case "node" -> {
                if (!a.has("config")) {
                    throw new UsageException(n, "missing --config FILE");
                }
            }
            case "init" -> {
                if (!a.has("dir")) {
                    throw new UsageException(n, "--dir is required");
                }
                int modes = (a.has("revoke") ? 1 : 0) + (a.has("renew") ? 1 : 0);
                if (modes > 1 || a.has("revoke") && a.has("nodes")) {
                    throw new UsageException(n, "give one of --nodes, --revoke NODE, --renew");
                }
                if (modes == 0 && !a.has("nodes")) {
                    throw new UsageException(n, "--nodes is required (or --revoke NODE, or --renew)");
                }
                if (modes == 1 && (a.has("remote-root") || a.has("name"))) {
                    throw new UsageException(n, "--remote-root and --name go with --nodes only");
                }
                if (!pos.isEmpty()) {
                    throw new UsageException(n, "unexpected argument '" + pos.getFirst() + "'");
                }
            }
            default -> {
                if (!pos.isEmpty()) {
                    throw new UsageException(n, "unexpected argument '" + pos.getFirst() + "'");
                }
            }
        }
    }
}

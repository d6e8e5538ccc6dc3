package dev.gestalt.command;

import java.util.List;

/** The table of Gestalt's subcommands, shared by the CLI and the node. */
public final class Commands {

    private Commands() {}

    static final Option HELP = new Option('h', "help", null, "show this help");

    static final String ENVIRONMENT = """

        Environment:
          GESTALT_NODE   socket of the node to talk to (default: this user's local
                         cluster, else the machine's cluster started by root); a
                         value without '/' (a job's own GESTALT_NODE, its node's
                         name) is not a socket and is ignored
          GESTALT_HOME   where per-user state lives (default ~/.local/state/gestalt)
        """;

    private static Option flag(char s, String l, String help) {
        return new Option(s, l, null, help);
    }

    private static Option opt(char s, String l, String arg, String help) {
        return new Option(s, l, arg, help);
    }

    public static final List<CommandSpec> ALL = List.of(
        new CommandSpec("run", "[-n NODE] [-t|-T] [-d] [--cpus N] [--mem SIZE] [--explain] [--no-migrate] [--checkpoint-every DURATION] [--] CMD [ARG...]",
            "run a command on the least-loaded node",
            """
            Runs CMD on the node the placement policy picks (or on NODE with -n), with
            your arguments, environment, working directory, umask, limits and identity.
            Stdin, stdout and stderr are streamed; the exit code is the program's
            (128+N when killed by signal N, 127 command not found, 126 not executable,
            255 when Gestalt itself fails, with a one-line reason). Ctrl-C, SIGTERM,
            SIGHUP and SIGQUIT reach the remote process group.""",
            List.of(opt('n', "node", "NODE", "run on NODE (name or id)"),
                flag('t', "tty", "force a terminal (default when stdin and stdout are terminals)"),
                flag('T', "no-tty", "never allocate a terminal"),
                flag('d', "detach", "run in the background; print the global PID and return"),
                opt((char) 0, "cpus", "N", "only nodes with at least N CPUs"),
                opt((char) 0, "mem", "SIZE", "only nodes with at least SIZE free memory (e.g. 512M, 2G)"),
                flag((char) 0, "explain", "say why the node was chosen (on stderr)"),
                flag((char) 0, "no-migrate", "never move it to another node (gestalt migrate)"),
                opt((char) 0, "checkpoint-every", "DURATION",
                    "with -d: checkpoint it every DURATION (10s at least: 30s, 10m, 1h), keeping the last two")),
            true, false, false),
        new CommandSpec("ps", "[-a] [-e] [-u USER] [-n NODE] [--json]", "list the processes of the cluster",
            """
            Lists every process started by Gestalt on any node: global PID, node, user,
            state, %CPU, RSS, CPU time, start time, command. With -a, also every process
            that has ended, as long as its node keeps its record (node.conf job_history,
            24 hours by default), with its exit code and end time, as sacct does. With -e,
            lists every process of every node instead, as NODE:PID. Unreachable nodes are
            reported on stderr.""",
            List.of(flag('a', "all", "also processes that have ended (exit code, end time)"),
                flag('e', "every", "every OS process of every node"),
                opt('u', "user", "USER", "only USER's processes"),
                opt('n', "node", "NODE", "only processes running on NODE (name or id)"),
                flag((char) 0, "json", "JSON for scripts")),
            false, false, false),
        new CommandSpec("kill", "[-s SIG | -SIG] ID... | -u USER | --all", "send a signal to processes of the cluster",
            """
            Sends SIG (default TERM) to each ID: a global PID (as ps shows it) or NODE:PID
            (as ps -e shows it; root only for processes not started by Gestalt). With -u
            or --all, to every running process started by Gestalt for that user, on every
            node (as scancel -u does); only root may name another user. A process that
            has already ended is an error ("process has exited"), as in kill(1).""",
            List.of(opt('s', "signal", "SIG", "signal name or number (TERM, KILL, 9, ...)"),
                opt('u', "user", "USER", "every running process of USER (a name or a uid)"),
                flag((char) 0, "all", "every running process of yours"),
                flag('l', "list", "list signal names")),
            false, true, false),
        new CommandSpec("wait", "GPID... | --all", "wait for processes and exit with the last one's code",
            """
            Waits until every GPID has ended; exits with the code of the last one. With
            --all, waits for every process of yours that runs anywhere in the cluster when
            the command starts, and exits 0, as the shell's wait without operands.""",
            List.of(flag((char) 0, "all", "every running process of yours")), false, false, false),
        new CommandSpec("logs", "[-f] GPID", "print the output of a detached process",
            "Prints what a detached process wrote (stdout to stdout, stderr to stderr).",
            List.of(flag('f', "follow", "keep following the output until the process ends")),
            false, false, false),
        new CommandSpec("attach", "[-T] GPID", "attach the terminal to a detached process",
            """
            Connects your terminal to a detached process: its output from now on, your
            input, signals and window size. With a terminal, Ctrl-] detaches and
            leaves the process running.""",
            List.of(flag('T', "no-tty", "do not put the terminal in raw mode")),
            false, false, false),
        new CommandSpec("migrate", "[--check] [--json] [--method METHOD] GPID [NODE]", "move a running process to another node",
            """
            Moves the running process GPID to NODE (or to the node the placement policy
            picks) with CRIU, with the same GPID, output log and exit code; wait, logs,
            kill and ps follow it. Post-copy where both nodes can and it has 16 MiB of
            memory or more (the default): frozen, its state but not its memory carried
            over the cluster's TLS channel, it runs on NODE at once and pulls its memory
            from the old node as it touches it (the rest follows in the background,
            over TLS with keys made for this move);
            else stop-and-copy: all of it is carried, then it runs there. Prints each
            phase and a summary (downtime, bytes moved, total time). An attached process
            moves under its client: run goes on with it (its input, output, signals and
            exit code), with no byte lost or repeated. A move that fails before the
            process runs on NODE leaves it running where it was, unharmed, and says why
            (exit 1); post-copy, a node that dies before all the memory arrived costs
            the process (it is killed, not left with memory that is not its own). With
            --check, lists what would stop it from moving (established TCP connections,
            devices, a node that cannot take it), freezing nothing; exit 0 when nothing
            would. A job with a terminal gets a new one on NODE, of the same size and modes.""",
            List.of(flag((char) 0, "check", "only say whether it could move, and what stops it"),
                opt((char) 0, "method", "METHOD", "post-copy or stop-and-copy (default: post-copy from 16 MiB where both nodes can)"),
                flag((char) 0, "json", "JSON for scripts")),
            false, false, false),
        new CommandSpec("drain", "[--force] [--json] NODE", "move every process off a node and take no new ones there",
            """
            For taking NODE down (an upgrade, a reboot) without stopping jobs; root only.
            NODE takes no new process from now on, started or moved there (nodes shows it
            as draining), and each process running on it is moved, one after the other,
            to the node the placement policy picks (see migrate). What cannot move is
            listed with why, and left running unless --force kills it. Exit 0 once no
            process of Gestalt runs on NODE, 1 while some do. NODE stays drained, across
            restarts of its daemon, until gestalt undrain NODE.""",
            List.of(flag((char) 0, "force", "kill what cannot move"),
                flag((char) 0, "json", "JSON for scripts")),
            false, false, false),
        new CommandSpec("undrain", "NODE", "let a drained node take new processes again",
            "Ends gestalt drain NODE: NODE takes new processes again (root only).",
            List.of(flag((char) 0, "json", "JSON for scripts")),
            false, false, false),
        new CommandSpec("checkpoint", "[--leave-running] [--json] GPID", "save a running process to restart it later",
            """
            Freezes the process GPID with CRIU and saves it as a checkpoint named
            GPID.N, in the file space (copies on other nodes: a node's death takes no
            checkpoint with it), encrypted and authenticated with a key the cluster's
            nodes derive from its secret, readable by root alone (users reach theirs
            through gestalt). Then stops the process (it ends as killed, 137), or with
            --leave-running lets it run on. A process attached to its client (run
            without -d) restarts detached: its output goes to its log, its stdin reads
            nothing. Prints the checkpoint's name. Exit 1 when it cannot be checkpointed
            (it runs on, unharmed, and the reason says why).""",
            List.of(flag((char) 0, "leave-running", "let the process run on after the checkpoint"),
                flag((char) 0, "json", "JSON for scripts")),
            false, false, false),
        new CommandSpec("checkpoints", "[--json] | rm NAME...", "list or remove checkpoints",
            """
            Lists the checkpoints you may restart (root: all of them), oldest first: name,
            process, user, the node it ran on, when, size, whether the process was stopped,
            command. rm NAME... removes checkpoints.""",
            List.of(flag((char) 0, "json", "JSON for scripts")),
            false, false, false),
        new CommandSpec("restart", "[-n NODE] [--json] CHECKPOINT", "run a process again from a checkpoint",
            """
            Restores the process saved in CHECKPOINT on NODE (or where the placement policy
            says), with its GPID, its memory and its log as they were then: logs, wait,
            kill, attach and ps work on it as before. Output it wrote after the checkpoint
            was taken is written again. Refused while a process with that GPID runs.""",
            List.of(opt('n', "node", "NODE", "the node to restart it on"),
                flag((char) 0, "json", "JSON for scripts")),
            false, false, false),
        new CommandSpec("events", "[-f] [--json]", "what happened in the cluster: moves, drains, nodes",
            """
            Lists what happened in the cluster, every node's events merged by time:
            processes moved (from where to where, downtime, by whom or why: gestalt
            migrate, drain), moves that failed and why, drains, nodes that joined or
            left. Each node keeps its last 1000 events (in its state folder: they
            outlive a restart). With -f, goes on showing each new event until Ctrl-C.
            With --json, one JSON array (with -f: one object per line).""",
            List.of(flag('f', "follow", "show new events as they come"),
                flag((char) 0, "json", "JSON for scripts")),
            false, false, false),
        new CommandSpec("top", "[--once] [-d SECONDS]", "live view of nodes and busiest processes",
            "Shows the nodes and the busiest processes, refreshed every 2 s (Ctrl-C to quit).",
            List.of(flag((char) 0, "once", "print one screen and exit"),
                opt('d', "delay", "SECONDS", "refresh interval (default 2)")),
            false, false, false),
        new CommandSpec("nodes", "[--json]", "list the nodes of the cluster",
            "Lists each node: name, id, address, state, CPUs, load, free memory, processes, version.",
            List.of(flag((char) 0, "json", "JSON for scripts")),
            false, false, false),
        new CommandSpec("fs", "status [--json]", "show the file space (one tree at the same path on every node)",
            """
            status: the engine and its health, the mount point, the master and metaloggers,
                    copies wanted and chunks lacking copies (a progress line while copies are
                    restored), and per node its roles, whether it has the tree mounted, and the
                    space its chunkserver uses.""",
            List.of(flag((char) 0, "json", "JSON for scripts")),
            false, false, false),
        new CommandSpec("forall", "[OPTION...] [--] [CMD [ARG...]] [::: ARG... | :::: FILE...]...",
            "run a command once per argument, spread over the cluster (GNU parallel's syntax)",
            """
            Runs CMD once per argument, each task placed like a run, -j at a time, with GNU
            parallel's syntax and meaning. Arguments come from ::: lists, :::: files (- is
            stdin) and -a FILE, each an input source; several sources combine as every
            combination, in parallel's order; :::+ and ::::+ pair a source with the one
            before. With none, each line of stdin is one (empty lines too).
            CMD is a shell command line, as in parallel: its words joined with spaces, each
            argument inserted quoted, run by $PARALLEL_SHELL, else $SHELL, else /bin/sh;
            with -q, CMD and its words are the program's argv, nothing is interpreted.
            Replacement strings: {} the argument, {.} without extension, {/} basename,
            {//} dirname, {/.} basename without extension, {#} task number, {%} job slot,
            {N} {N.} {N/} {N//} {N/.} the N-th source's (negative N from the end). A CMD
            without them gets the arguments appended; no CMD at all: each argument is
            the command line.
            Each task's output is printed when it ends, in one piece (stdout, then stderr;
            in argument order with -k). A task whose output outgrows a buffer streams it
            as it comes once its turn to print comes; output is never dropped: a task
            output that cannot be delivered is an error.
            Exit code: the number of failed tasks (101 for more than 100); with --halt
            fail=1, the failed task's; 130 on Ctrl-C (143 SIGTERM), the running tasks
            killed.""",
            List.of(opt('j', "jobs", "N", "at most N tasks at once (default: the cluster's CPUs); +N, -N, N%: of those; 0: no limit"),
                flag('k', "keep-order", "print outputs in the order of the arguments"),
                flag((char) 0, "tag", "prefix each output line with the task's arguments and a tab"),
                flag((char) 0, "line-buffer", "print each task's output as it comes, a line at a time"),
                flag('u', "ungroup", "print output as it comes, not grouped by task"),
                flag('q', "quote", "CMD and its words are the argv: no shell"),
                opt('a', "arg-file", "FILE", "read arguments from FILE (as :::: FILE)"),
                opt((char) 0, "halt", "WHEN,WHY=N", "stop after N (or N%) tasks failed/succeeded/finished: now,fail=1 soon,fail=3 now,success=1 ..."),
                opt((char) 0, "timeout", "DURATION", "kill a task running longer (TERM, then KILL): 30, 2.5, 2m, 1h30m"),
                opt((char) 0, "joblog", "FILE", "log each finished task to FILE (parallel's format; - for stdout)"),
                opt((char) 0, "retries", "N", "run a failed task up to N times in all, each time on another node if one is left"),
                flag((char) 0, "will-cite", "accepted, as GNU parallel does (Gestalt prints no notice)")),
            true, false, false),
        new CommandSpec("cluster", "up [--nodes N] [--name NAME] | down [--force] | status [--json]",
            "start, stop or show a local cluster on this machine",
            """
            up:     starts N real node daemons on this machine (default 3), creating
                    credentials if needed, and waits until all see each other. Idempotent:
                    on a running cluster it restarts any node that is down.
            down:   stops the local cluster's daemons, which ends their processes;
                    when detached processes run, names them and stops nothing
                    (exit 1) unless --force.
            status: each local node's name, pid, socket and state.""",
            List.of(opt((char) 0, "nodes", "N", "number of nodes (up)"),
                opt((char) 0, "name", "NAME", "cluster name (default: local)"),
                flag((char) 0, "force", "stop even when detached processes run, ending them (down)"),
                flag((char) 0, "json", "JSON for scripts (status)")),
            false, false, true),
        new CommandSpec("init", "--dir DIR (--nodes NAME[=ADDR],... [--name CLUSTER] [--remote-root] | --revoke NODE"
                + " | --renew [--nodes NAME,...])",
            "create and administer a cluster's CA, node credentials and config files",
            """
            --nodes:  creates a cluster certificate authority in DIR/ca (if none), and for
                      each new node its credentials (name and id in its certificate, valid
                      90 days), node.conf and a systemd unit in DIR/NAME/, ready to copy to
                      that machine (see the README, "Real deployment"). Other nodes may not
                      start processes as root on these nodes unless --remote-root is given.
            --revoke: revokes NODE's certificates and writes the revocation list into
                      DIR/ca and every DIR/NAME/credentials/; copied to the nodes, it makes
                      them refuse NODE within seconds.
            --renew:  new keys and certificates for the nodes in DIR (or those named), same
                      names and ids; copied to the nodes, they are used without a restart.""",
            List.of(opt((char) 0, "dir", "DIR", "the cluster's admin folder"),
                opt((char) 0, "nodes", "LIST", "comma-separated node names, each optionally =ADDRESS"),
                opt((char) 0, "name", "CLUSTER", "cluster name (default: gestalt)"),
                flag((char) 0, "remote-root", "let other nodes start processes as root on the new nodes"),
                opt((char) 0, "revoke", "NODE", "revoke a node's certificates"),
                flag((char) 0, "renew", "renew the nodes' certificates")),
            false, false, true),
        new CommandSpec("node", "--config FILE", "run a node daemon in the foreground (for systemd)",
            "Runs the node daemon described by FILE until SIGTERM.",
            List.of(opt('c', "config", "FILE", "the node's config file")),
            false, false, true),
        new CommandSpec("make", "[MAKE-ARG...]", "make here, with every recipe line run on the cluster",
            """
            Runs make in this directory with your arguments (make -j N ... as usual);
            every recipe line runs on the least-loaded node, as `gestalt run -T --
            SHELL -c LINE` would run it (SHELL: the one the Makefile sets, else
            /bin/sh; GESTALT_MAKE_SHELL chooses another), so the working directory
            must be one every node has: the file space. Recursive makes ($(MAKE)
            lines, or lines marked '+') run here and share this make's jobserver,
            so -j N holds for the whole build. The exit code is make's; make's own
            help: make --help.""",
            List.of(), true, false, true),
        new CommandSpec("demo", "[--nodes N]", "start a local cluster and show it at work",
            "Starts a local cluster, runs a forall across it, shows nodes and ps, and leaves it up.",
            List.of(opt((char) 0, "nodes", "N", "number of nodes (default 3)")),
            false, false, true),
        new CommandSpec("version", "", "print the version", "Prints the CLI's version.",
            List.of(), false, false, true));

    /**
     * The exit code of a failure of Gestalt itself in command {@code name}: 255 where the code is
     * otherwise a program's (run, attach, wait, forall), as ssh does; 1 for the others.
     */
    public static int failureCode(String name) {
        return switch (name) {
            case "run", "forall", "attach", "wait" -> 255;
            default -> 1;
        };
    }

    /** The arguments of command {@code name}, parsed and checked as the CLI checks them. */
    public static ParsedArgs parse(String name, List<String> args) throws UsageException {
        CommandSpec spec = find(name);
        ParsedArgs a = ArgParser.parse(spec, args);
        Validation.check(spec, a);
        return a;
    }

    public static CommandSpec find(String name) {
        for (CommandSpec c : ALL) {
            if (c.name().equals(name)) {
                return c;
            }
        }
        return null;
    }

    /** The text of {@code gestalt --help}. */
    public static String overview() {
        StringBuilder sb = new StringBuilder("""
            Usage: gestalt COMMAND [ARG...]

            Gestalt makes a set of Linux machines behave as one.

            Commands:
            """);
        int width = ALL.stream().mapToInt(c -> c.name().length()).max().orElse(9);
        for (CommandSpec c : ALL) {
            sb.append(String.format("  %-" + width + "s %s%n", c.name(), c.summary()));
        }
        sb.append("\nRun 'gestalt COMMAND --help' for a command's options.\n").append(ENVIRONMENT);
        return sb.toString();
    }
}

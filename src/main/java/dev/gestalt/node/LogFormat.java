package dev.gestalt.node;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/** One line per log record on stderr (journald adds its own timestamps; files keep ours). */
final class LogFormat extends Formatter {

    private final String node;

    private LogFormat(String node) {
        this.node = node;
    }

    static void install(String node, Level level) {
        LogManager.getLogManager().reset();
        Logger root = Logger.getLogger("");
        var h = new ConsoleHandler();
        h.setFormatter(new LogFormat(node));
        h.setLevel(level);
        root.addHandler(h);
        root.setLevel(level);
        Logger.getLogger("io.grpc").setLevel(Level.WARNING);
        Logger.getLogger("io.netty").setLevel(Level.WARNING);
        Logger.getLogger("org.jgroups").setLevel(Level.WARNING);
    }

    @Override
    public String format(LogRecord r) {
        String src = r.getLoggerName();
        src = src == null ? "" : src.substring(src.lastIndexOf('.') + 1);
        StringBuilder sb = new StringBuilder();
        sb.append(Instant.ofEpochMilli(r.getMillis())).append(' ').append(r.getLevel().getName())
            .append(" [").append(node).append("] ").append(src).append(": ").append(formatMessage(r)).append('\n');
        if (r.getThrown() != null) {
            var sw = new StringWriter();
            r.getThrown().printStackTrace(new PrintWriter(sw));
            sb.append(sw);
        }
        return sb.toString();
    }
}

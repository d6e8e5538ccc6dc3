package dev.gestalt;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A warning logged at most once per key and period: a peer that retries every second (a revoked
 * node, an impostor) must leave one line in the log, not thousands. Bounded: the keys come from
 * peers, so the table is cleared when it grows past {@link #MAX_KEYS}.
 */
public final class RateLimitedLog {

    static final int MAX_KEYS = 1_000;

    private final Logger log;
    private final long periodMillis;
    private final Map<String, Long> last = new ConcurrentHashMap<>();

    public RateLimitedLog(Logger log, long periodMillis) {
        this.log = log;
        this.periodMillis = periodMillis;
    }

    /** Logs {@code message} as a warning unless a message with this key was logged within the period. */
    public void log(String key, String message) {
        long now = System.currentTimeMillis();
        Long before = last.get(key);
        if (before != null && now - before < periodMillis) {
            return;
        }
        if (last.size() >= MAX_KEYS) {
            last.clear();
        }
        last.put(key, now);
        log.log(Level.WARNING, message);
    }
}

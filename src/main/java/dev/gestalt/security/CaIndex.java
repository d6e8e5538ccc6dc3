package dev.gestalt.security;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;

/**
 * What a cluster CA has issued, in {@code ca/issued} (one line per certificate, as OpenSSL's
 * {@code index.txt} keeps it): serial, node name, node id, expiry, and when it was revoked (0 if
 * not). It is what makes node ids stable and unique (a name keeps its id; a new name gets an id
 * never handed out before, so GPIDs never repeat) and what a revocation list is made from.
 */
final class CaIndex {

    /** One issued certificate. */
    record Entry(BigInteger serial, String name, int id, Instant notAfter, Instant revokedAt) {
        boolean revoked() {
            return revokedAt != null;
        }
    }

    private static final String HEADER = "# serial\tname\tid\tnot_after\trevoked_at (written by gestalt init / cluster up)\n";

    private final Path file;
    private final List<Entry> entries;

    private CaIndex(Path file, List<Entry> entries) {
        this.file = file;
        this.entries = entries;
    }

    static CaIndex load(Path caDir) throws IOException {
        Path f = caDir.resolve("issued");
        List<Entry> out = new ArrayList<>();
        if (Files.exists(f)) {
            for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                String[] p = line.split("\t");
                if (p.length != 5) {
                    throw new IOException(f + ": bad line '" + line + "'");
                }
                long revoked = Long.parseLong(p[4]);
                out.add(new Entry(new BigInteger(p[0], 16), p[1], Integer.parseInt(p[2]),
                    Instant.ofEpochSecond(Long.parseLong(p[3])), revoked == 0 ? null : Instant.ofEpochSecond(revoked)));
            }
        }
        return new CaIndex(f, out);
    }

    List<Entry> entries() {
        return List.copyOf(entries);
    }

    /** The id the CA bound to this name, if it ever issued a certificate for it. */
    OptionalInt idOf(String name) {
        return entries.stream().filter(e -> e.name().equals(name)).mapToInt(Entry::id).findFirst();
    }

    /** The name the CA bound to this id, if any. */
    String nameOf(int id) {
        return entries.stream().filter(e -> e.id() == id).map(Entry::name).findFirst().orElse(null);
    }

    /** An id never handed out by this CA. */
    int nextId() {
        return entries.stream().mapToInt(Entry::id).max().orElse(0) + 1;
    }

    void add(Entry e) throws IOException {
        entries.add(e);
        save();
    }

    /** Marks every valid certificate of {@code name} revoked; returns how many were. */
    int revoke(String name, Instant at) throws IOException {
        int n = 0;
        for (int i = 0; i < entries.size(); i++) {
            Entry e = entries.get(i);
            if (e.name().equals(name) && !e.revoked()) {
                entries.set(i, new Entry(e.serial(), e.name(), e.id(), e.notAfter(), at));
                n++;
            }
        }
        save();
        return n;
    }

    private void save() throws IOException {
        StringBuilder sb = new StringBuilder(HEADER);
        for (Entry e : entries) {
            sb.append(e.serial().toString(16)).append('\t').append(e.name()).append('\t').append(e.id()).append('\t')
                .append(e.notAfter().getEpochSecond()).append('\t')
                .append(e.revoked() ? e.revokedAt().getEpochSecond() : 0).append('\n');
        }
        Pem.writeAtomically(file, sb.toString().getBytes(StandardCharsets.UTF_8), false);
    }
}

package dev.gestalt.node;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Free and total memory of this machine, from /proc/meminfo (MemAvailable, as free(1) shows it). */
record MemInfo(long availableBytes, long totalBytes) {

    static MemInfo read() {
        long avail = 0;
        long total = 0;
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemAvailable:")) {
                    avail = kib(line);
                } else if (line.startsWith("MemTotal:")) {
                    total = kib(line);
                }
            }
        } catch (IOException e) {
            // not Linux: report nothing
        }
        return new MemInfo(avail, total);
    }

    private static long kib(String line) {
        String[] f = line.trim().split("\\s+");
        return Long.parseLong(f[1]) * 1024;
    }
}

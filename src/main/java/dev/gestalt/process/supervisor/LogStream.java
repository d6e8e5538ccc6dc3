package dev.gestalt.process.supervisor;

/** Which output of a detached job a log holds. */
public enum LogStream {
    /** Standard output (for tty jobs: everything the terminal showed). */
    STDOUT("stdout"),
    /** Standard error (always empty for tty jobs). */
    STDERR("stderr");

    private final String fileName;

    LogStream(String fileName) {
        this.fileName = fileName;
    }

    /** The log's file name in the job's log folder. */
    public String fileName() {
        return fileName;
    }
}

package dev.gestalt.os;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A throwaway user (with its own primary group and one extra group) for tests that run as
 * root; {@link #close()} deletes both. Tests skip themselves when not root.
 */
public final class TestUser implements AutoCloseable {
    /** The user's name. */
    public final String name;
    /** The extra (supplementary) group's name. */
    public final String extraGroup;
    /** The user's database entry. */
    public final UserInfo info;
    /** The extra group's gid. */
    public final int extraGid;

    private TestUser(String name, String extraGroup) {
        this.name = name;
        this.extraGroup = extraGroup;
        this.info = Posix.getpwnam(name).orElseThrow();
        this.extraGid = Posix.getgrnam(extraGroup).orElseThrow().gid();
    }

    /** Creates a user named gst-XXXXXX with a supplementary group gsg-XXXXXX. */
    public static TestUser create() throws IOException, InterruptedException {
        String suffix = Integer.toString(ThreadLocalRandom.current().nextInt(1 << 24), 36);
        String user = "gst-" + suffix;
        String group = "gsg-" + suffix;
        run("groupadd", group);
        run("useradd", "--no-create-home", "--user-group", "--shell", "/bin/sh",
                "--groups", group, user);
        return new TestUser(user, group);
    }

    private static void run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(List.of(command)).inheritIO().start();
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " failed");
        }
    }

    @Override
    public void close() throws IOException, InterruptedException {
        run("userdel", name);
        run("groupdel", extraGroup);
    }
}

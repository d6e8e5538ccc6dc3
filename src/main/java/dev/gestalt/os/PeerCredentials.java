package dev.gestalt.os;

import java.io.IOException;
import java.nio.channels.SocketChannel;

import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;

/**
 * Who is at the other end of a connected Unix-domain socket, as the kernel says (SO_PEERCRED),
 * never as the peer claims.
 *
 * @param uid  the peer's user id
 * @param gid  the peer's primary group id
 * @param user the peer's user name (the uid as text when the user database has no entry)
 */
public record PeerCredentials(int uid, int gid, String user) {

    /**
     * Reads the credentials of the peer of {@code channel}. The JDK gives user and group names;
     * they are mapped back to ids through the user and group databases, and numeric names (ids
     * without a database entry) are parsed.
     *
     * @throws IOException when the channel is not a connected Unix-domain socket
     */
    public static PeerCredentials of(SocketChannel channel) throws IOException {
        UnixDomainPrincipal principal;
        try {
            principal = channel.getOption(ExtendedSocketOptions.SO_PEERCRED);
        } catch (UnsupportedOperationException e) {
            throw new IOException("not a Unix-domain socket: " + channel, e);
        }
        String user = principal.user().getName();
        String group = principal.group().getName();
        int uid = isNumber(user) ? Integer.parseInt(user)
                : Posix.getpwnam(user).orElseThrow(() -> new IOException("unknown peer user " + user)).uid();
        int gid = isNumber(group) ? Integer.parseInt(group)
                : Posix.getgrnam(group).orElseThrow(() -> new IOException("unknown peer group " + group)).gid();
        return new PeerCredentials(uid, gid, user);
    }

    private static boolean isNumber(String s) {
        return !s.isEmpty() && s.length() <= 10 && s.chars().allMatch(Character::isDigit);
    }
}

package dev.gestalt.rpc.local;

/** What a session does with the client's input frames. Called from the session's reader thread. */
public interface InputListener {
    default void stdin(byte[] data) {}

    default void stdinEof() {}

    default void signal(int signal) {}

    default void resize(int cols, int rows) {}

    /** The client disconnected (closed, killed, or detached). */
    default void gone() {}
}

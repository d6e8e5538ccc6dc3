package dev.gestalt.rpc.local;

/** Runs one CLI command on the node and returns its exit code. */
@FunctionalInterface
public interface CommandHandler {
    int handle(ClientSession session) throws Exception;
}

/**
 * The {@code gestalt} command: argument parsing, help, and the thin client side of every command. Commands that act on the cluster are sessions on the local node (see {@link dev.gestalt.rpc.local}); this package keeps the CLI's start-up lean: it loads no library beyond the JDK.
 */
package dev.gestalt.cli;

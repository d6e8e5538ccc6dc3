/**
 * The {@code gestalt} command: the thin client side of every command, and the commands that run
 * locally (cluster, init, node, demo). Commands that act on the cluster are sessions on the local
 * node (see {@link dev.gestalt.rpc.local}); their grammar is in {@link dev.gestalt.command}. This
 * package keeps the CLI's start-up lean: it loads no library beyond the JDK. Nothing outside it
 * depends on it.
 */
package dev.gestalt.cli;

/**
 * The command language shared by the CLI and the node: the table of subcommands and their
 * options ({@link dev.gestalt.command.Commands}), the argument parser, validation and usage
 * errors. The CLI parses to print help and catch usage errors before it connects; the node parses
 * the same arguments again, since it acts only on what it checked itself. No I/O here.
 */
package dev.gestalt.command;

/**
 * The few Linux calls Gestalt needs, made through the Foreign Function and Memory API
 * ({@code java.lang.foreign}): signals, umask, users and groups, terminals, resource limits,
 * peer credentials of a local socket. No JNI, no C of our own.
 *
 * <p>Classes here are small and initialise their native bindings lazily, so that the CLI,
 * which only needs {@code isatty}, the window size and raw mode, starts fast.
 */
package dev.gestalt.os;

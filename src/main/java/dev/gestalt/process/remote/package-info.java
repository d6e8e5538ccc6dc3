/**
 * The execution-node side of the process space as gRPC services: {@code Exec} streams a process's stdio and exit status to its home node; {@code Procs} answers list, signal, wait and logs for the processes this node runs.
 */
package dev.gestalt.process.remote;

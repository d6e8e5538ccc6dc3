/**
 * Node-to-node RPC helpers: channels to peers (mutual TLS, in-process to itself), flow-controlled sending on gRPC streams, and the one table of Gestalt's own errors with their gRPC statuses and exit codes.
 */
package dev.gestalt.rpc;

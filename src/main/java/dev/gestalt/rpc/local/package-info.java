/**
 * The CLI's protocol to its node over a Unix socket: length-prefixed frames, one session per command, stdin flow-controlled by credit so that signals are never stuck behind data. The node learns the caller from SO_PEERCRED.
 */
package dev.gestalt.rpc.local;

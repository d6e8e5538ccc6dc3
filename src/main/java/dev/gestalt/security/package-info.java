/**
 * The security space: only members of one cluster talk to each other.
 *
 * <p>Every cluster has one certificate authority ({@link dev.gestalt.security.ClusterCa}) with a
 * random cluster id. Each node holds a certificate issued by that CA
 * ({@link dev.gestalt.security.NodeCredentials}); the same credentials secure the JGroups
 * channel (TLS on the TCP transport) and the node-to-node gRPC connections
 * ({@link dev.gestalt.security.GrpcTls}), so there is one trust root for all node traffic.
 * Certificates of another cluster's CA are rejected at the TLS handshake, and so are those the
 * CA revoked ({@link dev.gestalt.security.Revocations}). A certificate names its node and the
 * node's id ({@link dev.gestalt.security.PeerIdentity}): a node is who its certificate says.
 * Node certificates are short-lived and renewed in place.
 */
package dev.gestalt.security;

/**
 * Local clusters: N real node daemons on one machine, on loopback ({@code gestalt cluster up|down|status}) and the {@code gestalt demo}.
 */
package dev.gestalt.cluster.local;

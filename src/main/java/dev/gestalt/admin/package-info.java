/**
 * One point of administration: creating a cluster's CA, node credentials, configuration files and systemd units ({@code gestalt init}).
 */
package dev.gestalt.admin;

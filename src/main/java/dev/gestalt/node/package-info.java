/**
 * A node daemon: its configuration, identity and state folder, and the wiring of the spaces to the engines. No feature lives here.
 */
package dev.gestalt.node;

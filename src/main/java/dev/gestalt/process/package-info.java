/**
 * The process space, home-node side: GPIDs, placement, and the commands run, ps, kill, wait, logs, attach, top and forall, each fanning out to the nodes that execute the processes.
 */
package dev.gestalt.process;

/**
 * Moving running processes between nodes (checkpoint/restart with CRIU): so far, whether a node
 * can ({@link dev.gestalt.process.migrate.MigrationCheck}). The recipe the moves will follow, checked
 * by hand on this code's jobs, is in docs/PROC-DESIGN.md, section 5.
 */
package dev.gestalt.process.migrate;

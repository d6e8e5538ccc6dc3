/**
 * Placement: choosing an execution node from the gossiped load table. Any node decides for the processes it is home to; decisions are explainable ({@code run --explain}).
 */
package dev.gestalt.process.placement;

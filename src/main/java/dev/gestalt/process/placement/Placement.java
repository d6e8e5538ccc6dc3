package dev.gestalt.process.placement;

/** A decision: the execution node, and in words why (for {@code run --explain}). */
public record Placement(String node, String explanation) {}

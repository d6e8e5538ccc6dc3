package dev.gestalt.os;

/** A terminal's window size in character cells. */
public record WinSize(int cols, int rows) {}

package dev.gestalt.os;

/** One entry of the group database ({@code struct group}), without its member list. */
public record GroupInfo(int gid, String name) {}

package dev.gestalt.os;

/** One entry of the user database ({@code struct passwd}). */
public record UserInfo(int uid, int gid, String name, String home, String shell) {}

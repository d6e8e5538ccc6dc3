package dev.gestalt;

/** Gestalt's version, as the CLI prints it and nodes gossip it. */
public final class Version {
    /** The release this build is. */
    public static final String VERSION = "0.1.0";

    private Version() {}
}

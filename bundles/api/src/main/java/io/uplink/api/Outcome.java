package io.uplink.api;

/** How a firing ended. */
public enum Outcome {
    /** Every task succeeded. */
    OK,
    /** Online, but some tasks failed. */
    PARTIAL,
    /** Nothing could be done (no link, bad configuration, every task failed). */
    FAILED
}

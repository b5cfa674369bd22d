package io.uplink.api;

/** The steps of a firing, in the order they run. */
public enum Phase {
    CONNECT,
    POST_CONNECT,
    SEND,
    COLLECT,
    PRE_DISCONNECT,
    DISCONNECT
}

package io.uplink.api;

/** Where a connection stands now. */
public enum ConnectionState {
    /** Configured, its method installed, not firing. */
    IDLE,
    /** Configured, but its method is not installed (yet); becomes {@link #IDLE} when it is. */
    WAITING,
    /** Its configuration has an error; the reason names the file and the key. */
    ERROR,
    /** Over the {@code maxConnections} limit; becomes active when another connection is removed. */
    REJECTED,
    /** Waiting for its turn (defaults one after the other, or an exclusive resource held by another). */
    QUEUED,
    /** Bringing the link up (dialling, probing). */
    CONNECTING,
    /** Online, running the post-connect or pre-disconnect command. */
    ONLINE,
    /** Sending the outgoing queue. */
    SENDING,
    /** Collecting mail. */
    COLLECTING,
    /** Taking the link down. */
    DISCONNECTING,
    /**
     * In a cluster: firing on another node ({@link ConnectionStatus#node()} names it), whose own status shows the
     * phase and progress (since 1.2).
     */
    REMOTE;

    /** Whether a firing is under way in this state. */
    public boolean isFiring() {
        return this == QUEUED || this == CONNECTING || this == ONLINE || this == SENDING
                || this == COLLECTING || this == DISCONNECTING || this == REMOTE;
    }
}

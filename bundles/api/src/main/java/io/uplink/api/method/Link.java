package io.uplink.api.method;

/**
 * An open link to the Internet, returned by {@link ConnectionMethod#connect(LinkContext)}. Closing it hangs up
 * (or, for a method that keeps lines up while idle, releases it to that idle timer).
 */
public interface Link extends AutoCloseable {

    /** What the link is, for status and history, such as {@code CONNECT 33600}. Never contains a password. */
    String describe();

    /**
     * Whether the link is still up. A method that notices the line drop (an unsolicited {@code NO CARRIER},
     * a vanished port) returns {@code false}; the tasks running over it then fail and the firing says why.
     */
    default boolean isUp() {
        return true;
    }

    /** Why the link went down when {@link #isUp()} is false, or {@code null}. */
    default String lostReason() {
        return null;
    }

    /** Hangs up. Idempotent; must not throw. */
    @Override
    void close();
}

package io.uplink.api.mail;

import java.time.Duration;
import java.util.Optional;

/** What a mail task gets from the firing that runs it. */
public interface TaskContext {

    /** The connection's id. */
    String connectionId();

    /** The connection's name. */
    String connectionName();

    /** The firing's id. */
    String firingId();

    /** Whether the link is still up; a task stops early (keeping everything safe) when it is not. */
    boolean linkUp();

    /** Reports progress, such as {@code sending} with 3 of 10; shown in the status and as events. */
    void progress(String message, int done, int total);

    /**
     * Time left until the firing's deadline ({@code firing.timeout} of the connection). A task bounds every
     * network wait by it and, once it has run out, stops as on a hang-up: what is stored stays stored,
     * nothing unstored is deleted. Empty when the firing has no deadline.
     */
    default Optional<Duration> timeLeft() {
        return Optional.empty();
    }
}

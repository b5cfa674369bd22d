package io.uplink.api.mail;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The outbox's failed folder, for the people who look after mail: what was given up, putting it back in
 * the queue, and cleaning up.
 *
 * @since 1.2
 */
public interface FailedMail {

    /** The failed messages, newest failure first. */
    List<FailedMessage> failed();

    /** One failed message. */
    Optional<FailedMessage> failed(String id);

    /**
     * Puts a failed message back into the queue for its failed recipients, due at the next firing and with
     * a fresh retry time; returns the id it has in the queue, empty when there is no such failed message.
     */
    Optional<String> requeue(String id);

    /** Requeues every failed message; returns how many. */
    int requeueAll();

    /** Removes a failed message for good; false when there is no such message. */
    boolean deleteFailed(String id);

    /** Removes the failed messages given up longer than {@code olderThan} ago; returns how many. */
    int purgeFailed(Duration olderThan);
}

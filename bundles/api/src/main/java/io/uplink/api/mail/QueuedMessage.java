package io.uplink.api.mail;

import java.time.Instant;
import java.util.List;

/**
 * A message in the outgoing queue.
 *
 * @param id the queue id
 * @param from the envelope sender
 * @param pending recipients still to be sent to
 * @param size size in bytes
 * @param queued when it was queued
 * @param attempts how many times sending was tried
 * @param nextTry when the next try may happen, or {@code null} for at the next firing
 * @param lastError the last error, or {@code null}
 * @param priority whether it is marked urgent ({@code X-Priority: 1} or {@code Importance: high})
 */
public record QueuedMessage(String id, String from, List<String> pending, long size, Instant queued,
        int attempts, Instant nextTry, String lastError, boolean priority) {

    public QueuedMessage {
        pending = List.copyOf(pending);
    }
}

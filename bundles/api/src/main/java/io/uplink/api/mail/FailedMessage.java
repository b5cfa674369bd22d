package io.uplink.api.mail;

import java.time.Instant;
import java.util.Map;

/**
 * A message the outbox gave up on: at least one recipient failed for good (a 5xx reply, or still
 * undelivered after {@code retry.maxAge}). It is kept in the failed folder until it is requeued, deleted
 * or purged by the retention time.
 *
 * @param id the queue id it had
 * @param from the envelope sender ({@code ""} for a bounce)
 * @param failed recipient → why it failed (the server's reply or a reason)
 * @param size size in bytes
 * @param queued when it was queued
 * @param failedAt when it was given up
 * @since 1.2
 */
public record FailedMessage(String id, String from, Map<String, String> failed, long size, Instant queued,
        Instant failedAt) {

    public FailedMessage {
        failed = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(failed));
    }
}

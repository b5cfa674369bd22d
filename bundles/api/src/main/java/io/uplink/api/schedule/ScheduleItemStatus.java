package io.uplink.api.schedule;

import java.time.Instant;
import java.util.List;

/**
 * One schedule item.
 *
 * @param id the id (the name part of its cfg file)
 * @param connections {@code default}, {@code deny}, or connection ids
 * @param when the timing in words, such as {@code every 15m between 08:00-18:00 on MON-FRI}
 * @param nextFiring the next firing, or {@code null} (paused, disabled, in error, deny item)
 * @param lastFiring the last firing, or {@code null}
 * @param state {@code ACTIVE}, {@code DISABLED}, {@code PAUSED}, {@code ERROR}, or {@code WAITING} (it needs a
 *        service that is not installed, such as the outbox for {@code minWaiting}; the reason says which)
 * @param reason why it is in ERROR (names file and key) or WAITING, a problem such as a connection that is
 *        not configured, or empty
 */
public record ScheduleItemStatus(String id, List<String> connections, String when, Instant nextFiring,
        Instant lastFiring, String state, String reason) {

    public ScheduleItemStatus {
        connections = List.copyOf(connections);
    }
}

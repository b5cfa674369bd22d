package io.uplink.api.schedule;

import java.time.Instant;
import java.util.List;

/**
 * A firing the schedule will make, deny windows applied.
 *
 * @param time when
 * @param scheduleId the item that fires
 * @param connections the connection ids it fires, defaults resolved
 */
public record ForecastEntry(Instant time, String scheduleId, List<String> connections) {

    public ForecastEntry {
        connections = List.copyOf(connections);
    }
}

package io.uplink.web.internal;

import java.time.Instant;
import java.util.Map;

/**
 * One connection event as the page, the stream and the activity log show it.
 *
 * @param seq increasing number, the SSE event id (a reconnecting page asks for what it missed)
 * @param time when it was seen
 * @param type the topic's last part: FIRED, CONNECTED, PHASE, PROGRESS, SENT, COLLECTED, DISCONNECTED, FAILED, STATE
 * @param connection the connection id
 * @param text one line for people
 * @param properties the event's properties (no secrets: the core posts none)
 */
record ActivityEntry(long seq, Instant time, String type, String connection, String text, Map<String, Object> properties) {

    ActivityEntry {
        properties = Map.copyOf(properties);
    }

    /** The line written to the activity log file and printed by {@code connection:log}. */
    String line() {
        Object firing = properties.get(io.uplink.api.Events.FIRING_ID);
        return time.truncatedTo(java.time.temporal.ChronoUnit.MILLIS) + " " + type + (firing == null ? "" : " [" + firing + "]") + " " + text;
    }
}

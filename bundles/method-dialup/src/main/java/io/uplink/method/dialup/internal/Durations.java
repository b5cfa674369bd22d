package io.uplink.method.dialup.internal;

import java.time.Duration;

/** Durations as a user writes them in a cfg file: {@code 30s}, {@code 2m}, {@code 500ms}. */
final class Durations {

    private Durations() {
    }

    static String text(Duration d) {
        long ms = d.toMillis();
        if (ms % 3_600_000 == 0 && ms > 0) {
            return ms / 3_600_000 + "h";
        }
        if (ms % 60_000 == 0 && ms > 0) {
            return ms / 60_000 + "m";
        }
        if (ms % 1000 == 0) {
            return ms / 1000 + "s";
        }
        return ms + "ms";
    }
}

package io.uplink.api;

import java.time.Duration;
import java.time.Instant;

/**
 * One phase of a firing: when it ran, whether it succeeded, and what it said.
 *
 * @param phase the phase
 * @param started when it started
 * @param ended when it ended
 * @param ok whether it succeeded
 * @param message what it did or why it failed; never contains a password
 */
public record PhaseResult(Phase phase, Instant started, Instant ended, boolean ok, String message) {

    /** How long the phase took. */
    public Duration duration() {
        return Duration.between(started, ended);
    }
}

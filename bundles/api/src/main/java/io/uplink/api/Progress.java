package io.uplink.api;

/**
 * What a running firing is doing now.
 *
 * @param firingId the running firing
 * @param phase its current phase
 * @param message what it is doing, such as {@code attempt 2/4: BUSY} or {@code sending 3 of 10}
 * @param done items done in this phase
 * @param total items in this phase, or -1 when unknown
 */
public record Progress(String firingId, Phase phase, String message, int done, int total) {
}

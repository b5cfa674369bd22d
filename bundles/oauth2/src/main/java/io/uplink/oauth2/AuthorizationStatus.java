package io.uplink.oauth2;

import java.time.Instant;

/**
 * What {@code oauth:status} and the page show about one account. Holds no token.
 *
 * @param authorized whether a refresh token is stored
 * @param username the account's mailbox address
 * @param accessTokenExpiry when the cached access token expires, or {@code null} when none is cached
 * @param lastRefresh when a token was last obtained, or {@code null}
 * @param lastError the last failure, or {@code null}
 */
public record AuthorizationStatus(boolean authorized, String username, Instant accessTokenExpiry, Instant lastRefresh,
        String lastError) {
}

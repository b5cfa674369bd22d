package io.uplink.oauth2;

/**
 * One collector or sender with {@code auth = oauth2} as the status page shows it. Holds no token.
 *
 * @param id the item's id
 * @param kind {@code collector} or {@code sender}
 * @param status whether it is authorized, its account, expiry, last refresh and last error; {@code null} when the
 *        item's configuration has a problem
 * @param problem the item's configuration problem (naming its file and key), or {@code null}
 * @param pending the code of a device authorization started from the page and waiting for a person, or
 *        {@code null}
 */
public record ItemAuthorization(String id, String kind, AuthorizationStatus status, String problem,
        DeviceCode pending) {

    /** Whether the item can sign in: its configuration is usable and a refresh token is stored. */
    public boolean authorized() {
        return status != null && status.authorized();
    }
}

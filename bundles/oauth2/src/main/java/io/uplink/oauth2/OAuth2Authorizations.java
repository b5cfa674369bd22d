package io.uplink.oauth2;

import java.util.List;

/**
 * Authorizing collectors and senders by their ids without a terminal, for the status page (an OSGi service of
 * the OAuth2 bundle). The device grant runs in the background; a person approves the code in any browser.
 *
 * @since 1.1
 */
public interface OAuth2Authorizations {

    /** Every collector and sender with {@code auth = oauth2}, sorted by id, with a waiting code if there is one. */
    List<ItemAuthorization> items();

    /**
     * Starts the device grant (RFC 8628) for the item's account and returns the code to show, once the provider
     * gave it; the polling goes on in the background until the person approved, declined or the code expired.
     * An authorization already waiting for the same account (two items sharing one account share one
     * authorization) is returned instead of starting a second one.
     *
     * @throws IllegalArgumentException when there is no OAuth2 item of that id, or its configuration is unusable
     * @throws OAuth2Exception when the provider refused or could not be reached; the message names the item
     */
    DeviceCode start(String id) throws OAuth2Exception;
}

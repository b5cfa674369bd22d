package io.uplink.oauth2;

import java.time.Instant;

/**
 * What a person needs to approve a device authorization: the page to open and the code to type.
 *
 * @param verificationUri the page to open in any browser
 * @param verificationUriComplete the page with the code filled in, or {@code null}
 * @param userCode the code the person types
 * @param expiresAt when the code stops working
 */
public record DeviceCode(String verificationUri, String verificationUriComplete, String userCode, Instant expiresAt) {
}

package io.uplink.oauth2;

import java.util.function.Consumer;

/**
 * Access tokens for OAuth2 accounts (an OSGi service of the OAuth2 bundle).
 *
 * <p>Access tokens are cached in memory until shortly before they expire; a refresh token the provider rotates
 * is stored durably before the old one is dropped; one account is refreshed by one thread at a time, so items
 * sharing an account never race.
 */
public interface OAuth2Tokens {

    /**
     * An access token for the account, refreshed first when the cached one is missing or about to expire.
     *
     * @throws OAuth2Exception when none can be had; its message names the item and says what to do
     */
    String accessToken(OAuth2Account account) throws OAuth2Exception;

    /**
     * A new access token after the mail server refused {@code refused}: refreshes unless another item of the same
     * account has already replaced that token.
     */
    String refreshAfterRefusal(OAuth2Account account, String refused) throws OAuth2Exception;

    /**
     * Authorizes the account with the device grant (RFC 8628): shows the code through {@code prompt}, then polls
     * the token endpoint (honouring {@code interval} and {@code slow_down}) until the person approved, declined,
     * or the code expired. Blocks; an interrupt stops it.
     *
     * @throws OAuth2Exception when the person declined, the code expired, or the provider refused
     */
    void authorize(OAuth2Account account, Consumer<DeviceCode> prompt) throws OAuth2Exception, InterruptedException;

    /**
     * Revokes the refresh token at the provider (when it has a revocation endpoint) and forgets the tokens here.
     *
     * @return whether the provider confirmed the revocation ({@code false} when it has no endpoint)
     */
    boolean revoke(OAuth2Account account) throws OAuth2Exception;

    /** Whether the account is authorized, and when its token expires and was last refreshed. */
    AuthorizationStatus status(OAuth2Account account);
}

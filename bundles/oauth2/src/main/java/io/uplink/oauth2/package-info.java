/**
 * OAuth2 sign-in for Mail Collectors and Mail Senders: the account an item signs in to, and the service that
 * hands out its access token (refreshed, rotated and stored by the OAuth2 bundle, never shown).
 */
@Version("1.1.0")
@Export
package io.uplink.oauth2;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;

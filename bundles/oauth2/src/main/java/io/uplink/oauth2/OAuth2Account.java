package io.uplink.oauth2;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import io.uplink.api.config.Settings;

/**
 * The OAuth2 account a collector or sender signs in to: where its tokens come from and for which mailbox.
 *
 * <p>Read from an item's {@code oauth2.*} keys. Two items with the same provider (token endpoint), client id and
 * username are the same account and share one authorization.
 *
 * @param item how errors name the item: {@code collector 'office-m365'}
 * @param id the item's id, for the advice {@code run oauth:authorize <id>}
 * @param file the item's configuration file
 * @param provider {@code microsoft}, {@code google} or {@code custom}
 * @param tokenUrl the token endpoint
 * @param deviceUrl the device authorization endpoint (RFC 8628)
 * @param revokeUrl the revocation endpoint (RFC 7009), or {@code null} when the provider has none
 * @param clientId the application's client id
 * @param clientSecret the client secret, or {@code null} for a public client
 * @param scope the scopes, space separated
 * @param username the mailbox address the token is for
 * @param mechanism the SASL mechanism the mail server is asked for
 */
public record OAuth2Account(String item, String id, String file, String provider, URI tokenUrl, URI deviceUrl,
        URI revokeUrl, String clientId, String clientSecret, String scope, String username, Mechanism mechanism) {

    /** The SASL mechanisms for OAuth2. */
    public enum Mechanism {
        /** Google's and Microsoft's {@code XOAUTH2}. */
        XOAUTH2,
        /** RFC 7628 {@code OAUTHBEARER}. */
        OAUTHBEARER
    }

    /** What the item signs in to: sets the named providers' default scope. */
    public enum Use {
        POP3, IMAP, SMTP
    }

    static final String MICROSOFT_LOGIN = "https://login.microsoftonline.com/";
    static final String OUTLOOK = "https://outlook.office.com/";

    /** Whether the item's {@code auth} key says {@code oauth2} (the default is {@code password}). */
    public static boolean isOAuth2(Settings s) {
        String auth = s.string("auth", "password").toLowerCase(Locale.ROOT);
        if (!auth.equals("password") && !auth.equals("oauth2")) {
            throw s.problem("auth", "must be one of password, oauth2, got '" + auth + "'");
        }
        return auth.equals("oauth2");
    }

    /**
     * Reads the {@code oauth2.*} keys and {@code username} of an item.
     *
     * @throws io.uplink.api.config.ConfigException naming the item, file and key of a missing or bad value
     */
    public static OAuth2Account of(Settings s, Use use) {
        String provider = s.string("oauth2.provider", "custom").toLowerCase(Locale.ROOT);
        String username = s.required("username");
        String clientId = s.required("oauth2.clientId");
        String secret = s.string("oauth2.clientSecret", null);
        Mechanism mechanism = s.choice("oauth2.mechanism", Mechanism.class, Mechanism.XOAUTH2);
        URI token;
        URI device;
        URI revoke;
        String scope;
        switch (provider) {
            case "microsoft" -> {
                String tenant = s.string("oauth2.tenant", "organizations");
                String base = MICROSOFT_LOGIN + tenant + "/oauth2/v2.0/";
                token = uri(s, "oauth2.tenant", base + "token");
                device = uri(s, "oauth2.tenant", base + "devicecode");
                revoke = null;
                scope = switch (use) {
                    case POP3 -> OUTLOOK + "POP.AccessAsUser.All";
                    case IMAP -> OUTLOOK + "IMAP.AccessAsUser.All";
                    case SMTP -> OUTLOOK + "SMTP.Send";
                } + " offline_access";
            }
            case "google" -> {
                token = URI.create("https://oauth2.googleapis.com/token");
                device = URI.create("https://oauth2.googleapis.com/device/code");
                revoke = URI.create("https://oauth2.googleapis.com/revoke");
                scope = "https://mail.google.com/";
            }
            case "custom" -> {
                token = uri(s, "oauth2.tokenUrl", s.required("oauth2.tokenUrl"));
                device = uri(s, "oauth2.deviceUrl", s.required("oauth2.deviceUrl"));
                String r = s.string("oauth2.revokeUrl", null);
                revoke = r == null ? null : uri(s, "oauth2.revokeUrl", r);
                scope = s.string("oauth2.scope", "");
            }
            default -> throw s.problem("oauth2.provider", "must be one of microsoft, google, custom, got '"
                    + provider + "'");
        }
        scope = s.string("oauth2.scope", scope);
        return new OAuth2Account(s.item(), s.id(), s.file(), provider, token, device, revoke, clientId, secret, scope,
                username, mechanism);
    }

    private static URI uri(Settings s, String key, String value) {
        try {
            URI u = new URI(value);
            if (!"https".equals(u.getScheme()) && !"http".equals(u.getScheme()) || u.getHost() == null) {
                throw s.problem(key, "must be an http(s) URL, got '" + value + "'");
            }
            return u;
        } catch (java.net.URISyntaxException e) {
            throw s.problem(key, "must be an http(s) URL, got '" + value + "'");
        }
    }

    /**
     * The account's key: the same for every item of one provider, client id and username (the name of its
     * token file, without anything secret in it).
     */
    public String key() {
        String joined = tokenUrl + "\n" + clientId + "\n" + username.toLowerCase(Locale.ROOT);
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(joined.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The union of this account's scopes with another item's, for one authorization shared by both. */
    public OAuth2Account withScopes(List<String> more) {
        Set<String> all = new LinkedHashSet<>(List.of(scope.split("\\s+")));
        for (String m : more) {
            all.addAll(List.of(m.split("\\s+")));
        }
        all.remove("");
        return new OAuth2Account(item, id, file, provider, tokenUrl, deviceUrl, revokeUrl, clientId, clientSecret,
                String.join(" ", all), username, mechanism);
    }

    /** Never shows the client secret. */
    @Override
    public String toString() {
        return item + " (" + provider + ", " + username + ")";
    }
}

package io.uplink.oauth2.internal;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.text.ParseException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.StringJoiner;

import com.nimbusds.jose.util.JSONObjectUtils;

import io.uplink.oauth2.OAuth2Account;
import io.uplink.oauth2.OAuth2Exception;
import io.uplink.oauth2.OAuth2Exception.Kind;

/**
 * The requests Uplink makes to a provider: device authorization (RFC 8628), token (device code and refresh
 * grants, RFC 6749) and revocation (RFC 7009). The JDK's HTTP client (which verifies certificates) and Nimbus's
 * JSON reader; nothing of a token ever reaches a message.
 */
final class TokenEndpoint {

    static final String DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";

    /** A provider's answer with an OAuth2 error code ({@code invalid_grant}, {@code authorization_pending}, …). */
    static final class ErrorAnswer extends Exception {
        private static final long serialVersionUID = 1L;
        final String error;

        ErrorAnswer(String error, String description) {
            super(description == null ? error : error + ": " + description);
            this.error = error;
        }
    }

    private final HttpClient http;
    private final Duration timeout;

    TokenEndpoint(Duration timeout) {
        this.timeout = timeout;
        this.http = HttpClient.newBuilder().connectTimeout(timeout).followRedirects(HttpClient.Redirect.NEVER).build();
    }

    /** Starts a device authorization: the JSON answer (device_code, user_code, verification_uri, …). */
    Map<String, Object> deviceAuthorization(OAuth2Account a) throws OAuth2Exception, ErrorAnswer {
        Map<String, String> form = client(a);
        if (!a.scope().isBlank()) {
            form.put("scope", a.scope());
        }
        return post(a, a.deviceUrl(), form);
    }

    /** One poll of the token endpoint with the device code. */
    Map<String, Object> pollDeviceCode(OAuth2Account a, String deviceCode) throws OAuth2Exception, ErrorAnswer {
        Map<String, String> form = client(a);
        form.put("grant_type", DEVICE_GRANT);
        form.put("device_code", deviceCode);
        return post(a, a.tokenUrl(), form);
    }

    /** Exchanges the refresh token for a new access token (and perhaps a new refresh token). */
    Map<String, Object> refresh(OAuth2Account a, String refreshToken, String scope) throws OAuth2Exception, ErrorAnswer {
        Map<String, String> form = client(a);
        form.put("grant_type", "refresh_token");
        form.put("refresh_token", refreshToken);
        if (scope != null && !scope.isBlank()) {
            form.put("scope", scope);
        }
        return post(a, a.tokenUrl(), form);
    }

    /** Revokes the refresh token (RFC 7009: 200 whether or not the token was known). */
    void revoke(OAuth2Account a, String refreshToken) throws OAuth2Exception, ErrorAnswer {
        Map<String, String> form = client(a);
        form.put("token", refreshToken);
        form.put("token_type_hint", "refresh_token");
        post(a, a.revokeUrl(), form);
    }

    private static Map<String, String> client(OAuth2Account a) {
        Map<String, String> form = new LinkedHashMap<>();
        form.put("client_id", a.clientId());
        if (a.clientSecret() != null) {
            form.put("client_secret", a.clientSecret());
        }
        return form;
    }

    private Map<String, Object> post(OAuth2Account a, URI uri, Map<String, String> form)
            throws OAuth2Exception, ErrorAnswer {
        StringJoiner body = new StringJoiner("&");
        form.forEach((k, v) -> body.add(enc(k) + "=" + enc(v)));
        HttpRequest req = HttpRequest.newBuilder(uri).timeout(timeout)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("Accept", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString(), StandardCharsets.UTF_8)).build();
        HttpResponse<String> resp;
        try {
            resp = http.send(req, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new OAuth2Exception(Kind.UNAVAILABLE, a.item() + ": the token endpoint " + uri
                    + " cannot be reached (" + e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : ": " + e.getMessage()) + "); the next firing tries again");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new OAuth2Exception(Kind.UNAVAILABLE, a.item() + ": interrupted while asking " + uri);
        }
        int status = resp.statusCode();
        if (status >= 500) {
            throw new OAuth2Exception(Kind.UNAVAILABLE, a.item() + ": the token endpoint " + uri + " answered "
                    + status + "; the next firing tries again");
        }
        Map<String, Object> json = Map.of();
        String text = resp.body();
        if (text != null && !text.isBlank()) {
            try {
                json = JSONObjectUtils.parse(text);
            } catch (ParseException e) {
                if (status == 200) {
                    throw new OAuth2Exception(Kind.REFUSED, a.item() + ": " + uri + " answered 200 without JSON");
                }
            }
        }
        if (status == 200) {
            return json;
        }
        Object error = json.get("error");
        if (error != null) {
            Object desc = json.get("error_description");
            throw new ErrorAnswer(error.toString(), desc == null ? null : desc.toString());
        }
        throw new OAuth2Exception(Kind.REFUSED, a.item() + ": " + uri + " answered " + status);
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
}

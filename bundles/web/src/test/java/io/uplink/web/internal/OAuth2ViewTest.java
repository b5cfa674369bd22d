package io.uplink.web.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.time.Instant;

import org.junit.Test;

import io.uplink.oauth2.AuthorizationStatus;
import io.uplink.oauth2.DeviceCode;
import io.uplink.oauth2.ItemAuthorization;

/** What {@code GET api/oauth2} shows of an OAuth2 item: the waiting code only to those who may fire. */
public class OAuth2ViewTest {

    private static final ItemAuthorization WAITING = new ItemAuthorization("office", "collector",
            new AuthorizationStatus(false, "office@example.test", null, null, "collector 'office' (io.uplink."
                    + "collector-office.cfg): authorization expired or revoked: run oauth:authorize office"),
            null, new DeviceCode("https://login.example/device", null, "WDJB-MJHT",
                    Instant.parse("2026-12-01T10:15:00Z")));

    @Test
    public void anAdminSeesTheWaitingCode() {
        assertEquals("{\"id\":\"office\",\"kind\":\"collector\",\"authorized\":false,\"account\":\"office@example.test\","
                + "\"accessTokenExpiry\":null,\"lastRefresh\":null,\"lastError\":\"collector 'office' (io.uplink."
                + "collector-office.cfg): authorization expired or revoked: run oauth:authorize office\",\"pending\":"
                + "{\"verificationUri\":\"https://login.example/device\",\"verificationUriComplete\":null,"
                + "\"userCode\":\"WDJB-MJHT\",\"expiresAt\":\"2026-12-01T10:15:00Z\"}}",
                Json.write(JsonViews.oauth2(WAITING, true)));
    }

    @Test
    public void aViewerSeesTheStateButNoCode() {
        String json = Json.write(JsonViews.oauth2(WAITING, false));
        assertTrue(json, json.endsWith("\"pending\":null}"));
        assertFalse(json, json.contains("WDJB-MJHT"));
    }

    @Test
    public void anItemWithABadFileShowsItsProblem() {
        ItemAuthorization bad = new ItemAuthorization("gmail", "sender", null,
                "sender 'gmail' (io.uplink.sender-gmail.cfg), key 'oauth2.clientId': missing", null);
        assertEquals("{\"id\":\"gmail\",\"kind\":\"sender\",\"authorized\":false,\"account\":null,"
                + "\"accessTokenExpiry\":null,\"lastRefresh\":null,\"lastError\":\"sender 'gmail' (io.uplink."
                + "sender-gmail.cfg), key 'oauth2.clientId': missing\",\"pending\":null}",
                Json.write(JsonViews.oauth2(bad, true)));
    }
}

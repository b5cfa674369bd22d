package io.uplink.oauth2;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.Test;

import io.uplink.api.config.ConfigException;
import io.uplink.api.config.Settings;

/** Reading an item's OAuth2 keys: the named providers, and one clear error per bad key. */
public class OAuth2AccountTest {

    private static Settings item(String id, String... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put(Settings.FILEINSTALL_FILENAME, "file:/opt/uplink/etc/io.uplink.collector-" + id + ".cfg");
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return Settings.of("collector", "io.uplink.collector", m);
    }

    private static String problem(Settings s) {
        try {
            OAuth2Account.of(s, OAuth2Account.Use.IMAP);
            fail("accepted " + s);
            return null;
        } catch (ConfigException e) {
            return e.getMessage();
        }
    }

    @Test
    public void microsoftFillsInTheTenantEndpointsAndTheProtocolsScope() {
        Settings s = item("m365", "auth", "oauth2", "username", "office@contoso.com", "oauth2.provider", "microsoft",
                "oauth2.tenant", "contoso.onmicrosoft.com", "oauth2.clientId", "abc");
        assertTrue(OAuth2Account.isOAuth2(s));
        OAuth2Account imap = OAuth2Account.of(s, OAuth2Account.Use.IMAP);
        assertEquals("https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token",
                imap.tokenUrl().toString());
        assertEquals("https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/devicecode",
                imap.deviceUrl().toString());
        assertNull(imap.revokeUrl());
        assertNull(imap.clientSecret());
        assertEquals("https://outlook.office.com/IMAP.AccessAsUser.All offline_access", imap.scope());
        OAuth2Account smtp = OAuth2Account.of(s, OAuth2Account.Use.SMTP);
        assertEquals("https://outlook.office.com/SMTP.Send offline_access", smtp.scope());
        assertEquals("one account, one authorization", imap.key(), smtp.key());
        assertEquals("https://outlook.office.com/IMAP.AccessAsUser.All offline_access https://outlook.office.com/SMTP.Send",
                imap.withScopes(java.util.List.of(smtp.scope())).scope());
        assertEquals("https://outlook.office.com/POP.AccessAsUser.All offline_access",
                OAuth2Account.of(s, OAuth2Account.Use.POP3).scope());
    }

    @Test
    public void googleHasRevocationAndOneScope() {
        OAuth2Account g = OAuth2Account.of(item("gmail", "auth", "oauth2", "username", "a@example.com",
                "oauth2.provider", "google", "oauth2.clientId", "id", "oauth2.clientSecret", "s3cret"),
                OAuth2Account.Use.SMTP);
        assertEquals("https://mail.google.com/", g.scope());
        assertEquals("https://oauth2.googleapis.com/revoke", g.revokeUrl().toString());
        assertFalse(g.toString().contains("s3cret"));
    }

    @Test
    public void differentMailboxesAreDifferentAccounts() {
        String[] base = {"auth", "oauth2", "oauth2.provider", "google", "oauth2.clientId", "id"};
        Settings a = item("a", concat(base, "username", "a@example.com"));
        Settings b = item("b", concat(base, "username", "b@example.com"));
        assertNotEquals(OAuth2Account.of(a, OAuth2Account.Use.IMAP).key(), OAuth2Account.of(b, OAuth2Account.Use.IMAP).key());
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    public void badValuesNameTheItemFileAndKey() {
        assertEquals("collector 'x' (io.uplink.collector-x.cfg), key 'auth': must be one of password, oauth2, got 'token'",
                messageOf(() -> OAuth2Account.isOAuth2(item("x", "auth", "token"))));
        String p = problem(item("x", "auth", "oauth2", "username", "u@example.com", "oauth2.provider", "yahoo",
                "oauth2.clientId", "c"));
        assertTrue(p, p.contains("key 'oauth2.provider'") && p.contains("microsoft, google, custom"));
        p = problem(item("x", "auth", "oauth2", "username", "u@example.com"));
        assertTrue(p, p.contains("key 'oauth2.clientId'"));
        p = problem(item("x", "auth", "oauth2", "username", "u@example.com", "oauth2.clientId", "c"));
        assertTrue(p, p.contains("key 'oauth2.tokenUrl'"));
        p = problem(item("x", "auth", "oauth2", "username", "u@example.com", "oauth2.clientId", "c",
                "oauth2.tokenUrl", "ftp://x", "oauth2.deviceUrl", "https://x/d"));
        assertTrue(p, p.contains("key 'oauth2.tokenUrl'") && p.contains("http(s) URL"));
        p = problem(item("x", "auth", "oauth2", "username", "u@example.com", "oauth2.provider", "google",
                "oauth2.clientId", "c", "oauth2.mechanism", "plain"));
        assertTrue(p, p.contains("key 'oauth2.mechanism'") && p.contains("xoauth2, oauthbearer"));
        assertEquals(OAuth2Account.Mechanism.OAUTHBEARER, OAuth2Account.of(item("x", "auth", "oauth2", "username",
                "u@example.com", "oauth2.provider", "google", "oauth2.clientId", "c", "oauth2.mechanism",
                "oauthbearer"), OAuth2Account.Use.IMAP).mechanism());
    }

    private static String messageOf(Runnable r) {
        try {
            r.run();
            fail();
            return null;
        } catch (ConfigException e) {
            return e.getMessage();
        }
    }
}

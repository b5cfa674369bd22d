package io.uplink.mail.internal.collect;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.AfterClass;
import org.junit.Before;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import io.uplink.api.config.Settings;
import io.uplink.api.mail.CollectReport;
import io.uplink.mail.internal.auth.SignIn;
import io.uplink.oauth2.OAuth2Account;
import io.uplink.oauth2.internal.TokenService;
import io.uplink.testing.oauth2.OAuth2Dovecot;
import io.uplink.testing.oauth2.OAuth2TestServer;

/**
 * Collectors signing in with XOAUTH2 to a Dovecot that validates the JWT access tokens of a real authorization
 * server (Spring Authorization Server): collecting works, a refused token gets one refresh and one retry, a
 * revoked authorization stops the collector with advice and leaves the mail on the server.
 */
public class OAuth2CollectTest {

    @ClassRule
    public static TemporaryFolder tmp = new TemporaryFolder();

    private static OAuth2TestServer server;
    private static OAuth2Dovecot dovecot;
    private Path secrets;
    private TokenService tokens;

    @BeforeClass
    public static void start() throws Exception {
        Path root = tmp.getRoot().toPath();
        dovecot = OAuth2Dovecot.prepare(root.resolve("dovecot"), "mail.read", "alice", "bob");
        server = OAuth2TestServer.start("PT10M", dovecot.keys, "alice@example.test:alice-pw", "bob@example.test:bob-pw");
        dovecot.start();
    }

    /** Each test its own token files: a restart is a new service on the same folder. */
    @Before
    public void tokensOfThisTest() throws Exception {
        secrets = tmp.newFolder().toPath().resolve("secrets");
        tokens = tokens();
    }

    @AfterClass
    public static void stop() throws Exception {
        if (dovecot != null) {
            dovecot.close();
        }
        if (server != null) {
            server.close();
        }
    }

    private TokenService tokens() {
        TokenService t = new TokenService();
        t.configure(Map.of("secrets.dir", secrets.toString()));
        return t;
    }

    static Settings settings(String id, String protocol, int port, String user, String... more) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("felix.fileinstall.filename", "file:/etc/io.uplink.collector-" + id + ".cfg");
        m.put("protocol", protocol);
        m.put("host", "127.0.0.1");
        m.put("port", String.valueOf(port));
        m.put("security", "none");
        m.put("username", user);
        m.put("connections", "office");
        m.put("deliverTo", "office");
        m.put("auth", "oauth2");
        m.put("oauth2.provider", "custom");
        m.put("oauth2.tokenUrl", server.tokenUrl());
        m.put("oauth2.deviceUrl", server.deviceUrl());
        m.put("oauth2.revokeUrl", server.revokeUrl());
        m.put("oauth2.clientId", OAuth2TestServer.CLIENT_ID);
        m.put("oauth2.clientSecret", OAuth2TestServer.CLIENT_SECRET);
        m.put("oauth2.scope", "mail.read mail.send");
        for (int i = 0; i < more.length; i += 2) {
            m.put(more[i], more[i + 1]);
        }
        return Settings.of("collector", "io.uplink.collector", m);
    }

    private void authorize(Settings s, String user, String pw) throws Exception {
        OAuth2Account a = OAuth2Account.of(s, OAuth2Account.Use.IMAP);
        tokens.authorize(a, code -> {
            try {
                server.approve(code.userCode(), user, pw);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    private CollectReport collect(Settings s, Path out) throws InterruptedException {
        CollectorSettings c = CollectorSettings.of(s);
        Collection col = new Collection(c, out.resolve("mailboxes"), out.resolve("state").resolve(c.id() + ".uidl"),
                Clock.systemUTC(), SignIn.of(s, "", SignIn.account(s, OAuth2Account.Use.IMAP), tokens));
        return col.run(new Fixture.Context());
    }

    private static byte[] mail(String subject) {
        return ("From: a@example.test\r\nTo: alice@example.test\r\nSubject: " + subject + "\r\n\r\nhello\r\n")
                .getBytes(StandardCharsets.US_ASCII);
    }

    private static long delivered(Path out) throws Exception {
        Path n = out.resolve("mailboxes").resolve("office").resolve("new");
        if (!Files.exists(n)) {
            return 0;
        }
        try (var s = Files.list(n)) {
            return s.count();
        }
    }

    @Test
    public void imapAndPop3CollectWithXoauth2() throws Exception {
        Path out = tmp.newFolder().toPath();
        Settings imap = settings("office-imap", "imap", dovecot.imap, "alice@example.test");
        authorize(imap, "alice@example.test", "alice-pw");
        dovecot.deliver("alice", mail("one"));
        CollectReport r = collect(imap, out);
        assertEquals(r.errors().toString(), 1, r.collected());
        assertEquals(0, dovecot.messages("alice"));

        // the POP3 collector of the same account shares the authorization
        dovecot.deliver("alice", mail("two"));
        r = collect(settings("office-pop3", "pop3", dovecot.pop3, "alice@example.test"), out);
        assertEquals(r.errors().toString(), 1, r.collected());
        assertEquals(2, delivered(out));
        assertTrue(dovecot.log(), dovecot.log().contains("method=XOAUTH2"));
    }

    @Test
    public void aRefusedTokenIsRefreshedOnceThenTheErrorSaysWhy() throws Exception {
        Path out = tmp.newFolder().toPath();
        // the token is bob's, the mailbox alice's: Dovecot refuses every token of this authorization
        Settings s = settings("mixup", "imap", dovecot.imap, "bob@example.test");
        authorize(s, "bob@example.test", "bob-pw");
        Settings wrong = settings("mixup", "imap", dovecot.imap, "alice@example.test");
        Files.copy(secrets.resolve(OAuth2Account.of(s, OAuth2Account.Use.IMAP).key() + ".json"),
                secrets.resolve(OAuth2Account.of(wrong, OAuth2Account.Use.IMAP).key() + ".json"));
        dovecot.deliver("alice", mail("stays"));
        var before = tokens.status(OAuth2Account.of(wrong, OAuth2Account.Use.IMAP)).lastRefresh();

        CollectReport r = collect(wrong, out);
        assertEquals(0, r.collected());
        assertEquals(r.errors().toString(), 1, r.errors().size());
        assertTrue(r.errors().get(0), r.errors().get(0).startsWith("collector 'mixup' (io.uplink.collector-mixup.cfg): "
                + "the server refused the OAuth2 token for alice@example.test: "));
        assertTrue("one forced refresh happened",
                tokens.status(OAuth2Account.of(wrong, OAuth2Account.Use.IMAP)).lastRefresh().isAfter(before));
        assertEquals(1, dovecot.messages("alice"));

        // POP3: Angus reports the refusal only when the folder opens; the same one retry, the same message
        Settings pop3 = settings("mixup", "pop3", dovecot.pop3, "alice@example.test");
        var beforePop3 = tokens.status(OAuth2Account.of(wrong, OAuth2Account.Use.IMAP)).lastRefresh();
        r = collect(pop3, out);
        assertEquals(0, r.collected());
        assertTrue(r.errors().toString(), r.errors().size() == 1 && r.errors().get(0).startsWith(
                "collector 'mixup' (io.uplink.collector-mixup.cfg): the server refused the OAuth2 token for "
                        + "alice@example.test: "));
        assertTrue("one forced refresh happened",
                tokens.status(OAuth2Account.of(wrong, OAuth2Account.Use.IMAP)).lastRefresh().isAfter(beforePop3));
        assertEquals(1, dovecot.messages("alice"));
    }

    @Test
    public void aRevokedAuthorizationStopsTheCollectorAndDeletesNothing() throws Exception {
        Path out = tmp.newFolder().toPath();
        Settings s = settings("office-m365", "imap", dovecot.imap, "bob@example.test");
        authorize(s, "bob@example.test", "bob-pw");
        dovecot.deliver("bob", mail("kept"));
        OAuth2Account a = OAuth2Account.of(s, OAuth2Account.Use.IMAP);
        String refresh = new String(Files.readAllBytes(secrets.resolve(a.key() + ".json")), StandardCharsets.UTF_8)
                .replaceAll(".*\"refresh_token\":\"([^\"]+)\".*", "$1");
        server.revoke(refresh);
        tokens = tokens(); // a restart: the cached access token is gone, the next firing must refresh

        CollectReport r = collect(s, out);
        assertEquals(0, r.collected());
        assertEquals(java.util.List.of("collector 'office-m365' (io.uplink.collector-office-m365.cfg): "
                + "authorization expired or revoked: run oauth:authorize office-m365"), r.errors());
        assertEquals(1, dovecot.messages("bob"));
        assertEquals(0, delivered(out));
    }
}

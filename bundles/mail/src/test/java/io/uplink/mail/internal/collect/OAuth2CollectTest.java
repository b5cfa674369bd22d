package io.uplink.mail.internal.collect;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.junit.AfterClass;
import org.junit.Before;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameter;
import org.junit.runners.Parameterized.Parameters;

import io.uplink.api.config.Settings;
import io.uplink.api.mail.CollectReport;
import io.uplink.mail.internal.auth.SignIn;
import io.uplink.oauth2.OAuth2Account;
import io.uplink.oauth2.internal.TokenService;
import io.uplink.testing.oauth2.OAuth2Dovecot;
import io.uplink.testing.oauth2.OAuth2TestServer;

/**
 * Collectors signing in with XOAUTH2 and with OAUTHBEARER ({@code oauth2.mechanism}, each test once per
 * mechanism) to a Dovecot that validates the JWT access tokens of a real authorization server (Spring
 * Authorization Server): collecting works, a refused token gets one refresh and one retry, a revoked
 * authorization stops the collector with advice and leaves the mail on the server. The servers are started once
 * for both mechanisms.
 */
@RunWith(Parameterized.class)
public class OAuth2CollectTest {

    @Parameters(name = "{0}")
    public static List<String> mechanisms() {
        return List.of("xoauth2", "oauthbearer");
    }

    @Parameter
    public String mechanism;

    @ClassRule
    public static TemporaryFolder tmp = new TemporaryFolder();

    private static OAuth2TestServer server;
    private static OAuth2Dovecot dovecot;
    private Path secrets;
    private TokenService tokens;

    @BeforeClass
    public static void start() throws Exception {
        Path root = tmp.getRoot().toPath();
        dovecot = OAuth2Dovecot.prepareWithTls(root.resolve("dovecot"), "mail.read", "alice", "bob");
        server = OAuth2TestServer.start("PT10M", dovecot.keys, "alice@example.test:alice-pw", "bob@example.test:bob-pw");
        dovecot.start();
    }

    /** Each test its own token files (a restart is a new service on the same folder) and empty mailboxes. */
    @Before
    public void tokensOfThisTest() throws Exception {
        for (String user : List.of("alice", "bob")) {
            for (String sub : List.of("new", "cur")) {
                try (var files = Files.list(dovecot.dir.resolve("home").resolve(user).resolve("Maildir").resolve(sub))) {
                    for (Path f : (Iterable<Path>) files::iterator) {
                        Files.delete(f);
                    }
                }
            }
        }
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

    /** {@link #settings} with this run's {@code oauth2.mechanism}. */
    private Settings item(String id, String protocol, int port, String user) {
        return settings(id, protocol, port, user, "oauth2.mechanism", mechanism);
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
    public void imapAndPop3Collect() throws Exception {
        Path out = tmp.newFolder().toPath();
        Settings imap = item("office-imap", "imap", dovecot.imap, "alice@example.test");
        authorize(imap, "alice@example.test", "alice-pw");
        dovecot.deliver("alice", mail("one"));
        CollectReport r = collect(imap, out);
        assertEquals(r.errors().toString(), 1, r.collected());
        assertEquals(0, dovecot.messages("alice"));

        // the POP3 collector of the same account shares the authorization
        dovecot.deliver("alice", mail("two"));
        r = collect(item("office-pop3", "pop3", dovecot.pop3, "alice@example.test"), out);
        assertEquals(r.errors().toString(), 1, r.collected());
        assertEquals(2, delivered(out));
        String method = ", method=" + mechanism.toUpperCase(Locale.ROOT) + ",";
        assertTrue(dovecot.log(), dovecot.log().contains("imap-login: Info: Login: user=<alice@example.test>" + method));
        assertTrue(dovecot.log(), dovecot.log().contains("pop3-login: Info: Login: user=<alice@example.test>" + method));
    }

    /** POP3 under STARTTLS and over TLS: the sign-in (for OAUTHBEARER rewritten on the socket) runs above TLS. */
    @Test
    public void pop3OverStartTlsAndTls() throws Exception {
        Path out = tmp.newFolder().toPath();
        String pem = dovecot.certificate().toString();
        Settings stls = settings("office-stls", "pop3", dovecot.pop3, "alice@example.test", "oauth2.mechanism",
                mechanism, "security", "starttls", "trust.file", pem);
        authorize(stls, "alice@example.test", "alice-pw");
        dovecot.deliver("alice", mail("under starttls"));
        CollectReport r = collect(stls, out);
        assertEquals(r.errors().toString(), 1, r.collected());

        dovecot.deliver("alice", mail("over tls"));
        r = collect(settings("office-tls", "pop3", dovecot.pop3s, "alice@example.test", "oauth2.mechanism", mechanism,
                "security", "tls", "trust.file", pem), out);
        assertEquals(r.errors().toString(), 1, r.collected());
        assertEquals(2, delivered(out));
        String login = "pop3-login: Info: Login: user=<alice@example.test>, method="
                + mechanism.toUpperCase(Locale.ROOT) + ", ";
        // only this test signs in over TLS, once per mechanism
        assertEquals(dovecot.log(), 2, dovecot.log().lines().filter(l -> l.contains(login) && l.contains(", TLS"))
                .count());
    }

    @Test
    public void aRefusedTokenIsRefreshedOnceThenTheErrorSaysWhy() throws Exception {
        Path out = tmp.newFolder().toPath();
        // the token is bob's, the mailbox alice's: Dovecot refuses every token of this authorization
        Settings s = item("mixup", "imap", dovecot.imap, "bob@example.test");
        authorize(s, "bob@example.test", "bob-pw");
        Settings wrong = item("mixup", "imap", dovecot.imap, "alice@example.test");
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
        assertBearerStatus(r.errors().get(0));
        assertEquals(1, dovecot.messages("alice"));

        // POP3: Angus reports the refusal only when the folder opens; the same one retry, the same message
        Settings pop3 = item("mixup", "pop3", dovecot.pop3, "alice@example.test");
        var beforePop3 = tokens.status(OAuth2Account.of(wrong, OAuth2Account.Use.IMAP)).lastRefresh();
        r = collect(pop3, out);
        assertEquals(0, r.collected());
        assertTrue(r.errors().toString(), r.errors().size() == 1 && r.errors().get(0).startsWith(
                "collector 'mixup' (io.uplink.collector-mixup.cfg): the server refused the OAuth2 token for "
                        + "alice@example.test: "));
        assertTrue("one forced refresh happened",
                tokens.status(OAuth2Account.of(wrong, OAuth2Account.Use.IMAP)).lastRefresh().isAfter(beforePop3));
        assertBearerStatus(r.errors().get(0));
        assertEquals(1, dovecot.messages("alice"));
    }

    /** OAUTHBEARER: the refusal names the status of the server's error challenge, after the server's reply. */
    private void assertBearerStatus(String error) {
        if ("oauthbearer".equals(mechanism)) {
            assertTrue(error, error.matches(".*: the server refused the OAuth2 token for alice@example.test: "
                    + "\\S.* \\(invalid_token\\)"));
        }
    }

    @Test
    public void aRevokedAuthorizationStopsTheCollectorAndDeletesNothing() throws Exception {
        Path out = tmp.newFolder().toPath();
        Settings s = item("office-m365", "imap", dovecot.imap, "bob@example.test");
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

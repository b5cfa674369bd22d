package io.uplink.mail.internal.send;

import static org.awaitility.Awaitility.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

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

import io.uplink.api.mail.SendReport;
import io.uplink.oauth2.OAuth2Account;
import io.uplink.oauth2.internal.TokenService;
import io.uplink.testing.oauth2.OAuth2Dovecot;
import io.uplink.testing.oauth2.OAuth2Postfix;
import io.uplink.testing.oauth2.OAuth2TestServer;

/**
 * A sender signing in with XOAUTH2 and with OAUTHBEARER ({@code oauth2.mechanism}, each test once per mechanism,
 * the servers started once) to Postfix, whose SMTP AUTH asks Dovecot ({@code passdb oauth2}, the JWT validated
 * locally): sending works; a refused token says why; a revoked authorization sends nothing and keeps the queue.
 */
@RunWith(Parameterized.class)
public class OAuth2SendTest {

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
    private static OAuth2Postfix postfix;

    private SendFixture f;
    private TokenService tokens;
    private Path secrets;

    @BeforeClass
    public static void start() throws Exception {
        Path root = tmp.getRoot().toPath();
        dovecot = OAuth2Dovecot.prepare(root.resolve("dovecot"), "mail.send", "alice");
        server = OAuth2TestServer.start("PT10M", dovecot.keys, "alice@example.test:alice-pw");
        dovecot.start();
        postfix = OAuth2Postfix.start(root.resolve("postfix"), dovecot.authSocket());
    }

    @AfterClass
    public static void stop() throws Exception {
        if (postfix != null) {
            postfix.close();
        }
        if (dovecot != null) {
            dovecot.close();
        }
        if (server != null) {
            server.close();
        }
    }

    @Before
    public void setUp() throws Exception {
        f = new SendFixture(tmp.newFolder().toPath());
        secrets = tmp.newFolder().toPath().resolve("secrets");
        tokens = service();
    }

    private TokenService service() {
        TokenService t = new TokenService();
        t.configure(Map.of("secrets.dir", secrets.toString()));
        return t;
    }

    private SmtpSender sender(String id) {
        return sender(id, "alice@example.test");
    }

    private SmtpSender sender(String id, String username) {
        SmtpSender s = f.sender(id, "hosts", "127.0.0.1:" + postfix.port, "security", "none",
                "username", username, "auth", "oauth2", "oauth2.provider", "custom",
                "oauth2.tokenUrl", server.tokenUrl(), "oauth2.deviceUrl", server.deviceUrl(),
                "oauth2.revokeUrl", server.revokeUrl(), "oauth2.clientId", OAuth2TestServer.CLIENT_ID,
                "oauth2.clientSecret", OAuth2TestServer.CLIENT_SECRET, "oauth2.scope", "mail.read mail.send",
                "oauth2.mechanism", mechanism);
        s.tokens = tokens;
        return s;
    }

    private OAuth2Account authorize(String id) throws Exception {
        OAuth2Account a = OAuth2Account.of(io.uplink.api.config.Settings.of("sender", "io.uplink.sender", Map.of(
                "felix.fileinstall.filename", "file:/etc/io.uplink.sender-" + id + ".cfg", "username",
                "alice@example.test", "auth", "oauth2", "oauth2.tokenUrl", server.tokenUrl(), "oauth2.deviceUrl",
                server.deviceUrl(), "oauth2.clientId", OAuth2TestServer.CLIENT_ID, "oauth2.clientSecret",
                OAuth2TestServer.CLIENT_SECRET, "oauth2.scope", "mail.read mail.send")), OAuth2Account.Use.SMTP);
        tokens.authorize(a, code -> {
            try {
                server.approve(code.userCode(), "alice@example.test", "alice-pw");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        return a;
    }

    @Test
    public void sendsThroughPostfix() throws Exception {
        authorize("m365");
        f.queue(SendFixture.message("alice@example.test", "bob@example.net", "hello", "over OAuth2"));
        SendReport r = f.fire(sender("m365"));
        assertEquals(r.errors().toString(), 1, r.sent());
        assertEquals(0, f.outbox.size());
        String method = "sasl_method=" + mechanism.toUpperCase(Locale.ROOT) + ", sasl_username=alice@example.test";
        await().atMost(30, TimeUnit.SECONDS).until(() -> postfix.log().contains(method));
    }

    @Test
    public void aRefusedTokenIsRefreshedOnceThenTheErrorSaysWhyAndTheQueueIsKept() throws Exception {
        OAuth2Account alice = authorize("mixup");
        // the token is alice's, the login bob's: Dovecot refuses every token of this authorization
        SmtpSender bob = sender("mixup", "bob@example.test");
        String bobKey = OAuth2Account.of(io.uplink.api.config.Settings.of("sender", "io.uplink.sender", Map.of(
                "username", "bob@example.test", "auth", "oauth2", "oauth2.tokenUrl", server.tokenUrl(),
                "oauth2.deviceUrl", server.deviceUrl(), "oauth2.clientId", OAuth2TestServer.CLIENT_ID)),
                OAuth2Account.Use.SMTP).key();
        java.nio.file.Files.copy(secrets.resolve(alice.key() + ".json"), secrets.resolve(bobKey + ".json"));
        f.queue(SendFixture.message("bob@example.test", "carol@example.net", "kept", "stays queued"));
        SendReport r = f.fire(bob);
        assertEquals(0, r.sent());
        assertEquals(1, f.outbox.size());
        assertEquals(r.errors().toString(), 1, r.errors().size());
        assertTrue(r.errors().get(0), r.errors().get(0).startsWith("sender 'mixup' (io.uplink.sender-mixup.cfg): "
                + "the server refused the OAuth2 token for bob@example.test: "));
        if ("oauthbearer".equals(mechanism)) {
            // Postfix's own reply, then the status of the error challenge
            assertTrue(r.errors().get(0), r.errors().get(0).matches(".*bob@example.test: 535 .* \\(invalid_token\\)"));
        }
    }

    @Test
    public void aRevokedAuthorizationSendsNothingAndKeepsTheQueue() throws Exception {
        OAuth2Account a = authorize("m365");
        String stored = java.nio.file.Files.readString(secrets.resolve(a.key() + ".json"))
                .replaceAll("(?s).*\"refresh_token\":\"([^\"]+)\".*", "$1");
        server.revoke(stored); // consent withdrawn at the provider
        tokens = service(); // a restart: the cached access token is gone
        f.queue(SendFixture.message("alice@example.test", "bob@example.net", "kept", "stays queued"));
        SendReport r = f.fire(sender("m365"));
        assertEquals(0, r.sent());
        assertEquals("the queue is kept", 1, f.outbox.size());
        assertEquals(java.util.List.of("sender 'm365' (io.uplink.sender-m365.cfg): authorization expired or revoked: "
                + "run oauth:authorize m365"), r.errors());
    }
}

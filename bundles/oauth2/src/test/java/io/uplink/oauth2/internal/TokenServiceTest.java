package io.uplink.oauth2.internal;

import static org.awaitility.Awaitility.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import org.junit.AfterClass;
import org.junit.Before;
import org.junit.BeforeClass;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import com.sun.net.httpserver.HttpServer;

import io.uplink.api.config.Settings;
import io.uplink.oauth2.DeviceCode;
import io.uplink.oauth2.OAuth2Account;
import io.uplink.oauth2.OAuth2Exception;
import io.uplink.oauth2.OAuth2Exception.Kind;
import io.uplink.testing.oauth2.OAuth2TestServer;

/** The token service against a real authorization server (Spring Authorization Server in its own process). */
public class TokenServiceTest {

    private static OAuth2TestServer server;

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private final AtomicReference<Instant> now = new AtomicReference<>(Instant.now());
    private final List<Duration> waits = new CopyOnWriteArrayList<>();
    private Path secrets;
    private TokenService tokens;

    @BeforeClass
    public static void startServer() throws IOException {
        server = OAuth2TestServer.start("PT5M", null, "alice@example.test:alice-pw", "bob@example.test:bob-pw");
    }

    @AfterClass
    public static void stopServer() {
        if (server != null) {
            server.close();
        }
    }

    @Before
    public void setUp() throws IOException {
        secrets = tmp.getRoot().toPath().resolve("uplink").resolve("secrets");
        tokens = service();
    }

    /** A service as after a restart: same files, empty memory. Polls really wait (the server wants it). */
    private TokenService service() {
        TokenService t = new TokenService(now::get, d -> {
            waits.add(d);
            Thread.sleep(Math.min(d.toMillis(), 200));
        });
        t.configure(secrets, Duration.ofSeconds(60), Duration.ofSeconds(20));
        return t;
    }

    static OAuth2Account account(String item, String user, String tokenUrl, String deviceUrl) {
        Map<String, Object> p = new HashMap<>();
        p.put(Settings.FILEINSTALL_FILENAME, "file:/etc/io.uplink.collector-" + item + ".cfg");
        p.put("auth", "oauth2");
        p.put("username", user);
        p.put("oauth2.provider", "custom");
        p.put("oauth2.tokenUrl", tokenUrl);
        p.put("oauth2.deviceUrl", deviceUrl);
        p.put("oauth2.revokeUrl", server.revokeUrl());
        p.put("oauth2.clientId", OAuth2TestServer.CLIENT_ID);
        p.put("oauth2.clientSecret", OAuth2TestServer.CLIENT_SECRET);
        p.put("oauth2.scope", "mail.read mail.send");
        return OAuth2Account.of(Settings.of("collector", "io.uplink.collector", p), OAuth2Account.Use.IMAP);
    }

    static OAuth2Account account(String item, String user) {
        return account(item, user, server.tokenUrl(), server.deviceUrl());
    }

    /** Authorizes with the device grant, a "person" approving the code shown. */
    private void authorize(TokenService t, OAuth2Account a, String user, String pw) throws Exception {
        List<DeviceCode> shown = new ArrayList<>();
        t.authorize(a, code -> {
            shown.add(code);
            try {
                server.approve(code.userCode(), user, pw);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        assertEquals(1, shown.size());
        assertTrue(shown.get(0).verificationUri().startsWith(server.base()));
    }

    private String storedRefreshToken(OAuth2Account a) throws IOException {
        return new SecretStore(secrets).read(a.key()).orElseThrow().refreshToken();
    }

    @Test
    public void deviceGrantStoresTheRefreshTokenInAnOwnerOnlyFile() throws Exception {
        OAuth2Account a = account("office", "alice@example.test");
        authorize(tokens, a, "alice@example.test", "alice-pw");

        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(secrets)));
        try (Stream<Path> files = Files.list(secrets)) {
            List<Path> all = files.toList();
            assertEquals(List.of(secrets.resolve(a.key() + ".json")), all);
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(all.get(0))));
        }
        String access = tokens.accessToken(a);
        assertFalse(Files.readString(secrets.resolve(a.key() + ".json")).contains(access));
        assertTrue(tokens.status(a).authorized());
        assertNotNull(tokens.status(a).accessTokenExpiry());
        assertFalse(tokens.status(a).toString().contains(storedRefreshToken(a)));
    }

    @Test
    public void accessTokenIsCachedUntilAMinuteBeforeExpiryThenRefreshedWithRotation() throws Exception {
        OAuth2Account a = account("office", "alice@example.test");
        authorize(tokens, a, "alice@example.test", "alice-pw");
        String first = tokens.accessToken(a);
        String refresh1 = storedRefreshToken(a);

        now.set(now.get().plus(Duration.ofMinutes(3)).plusSeconds(58)); // 62 s left of 5 min
        assertEquals(first, tokens.accessToken(a));

        now.set(now.get().plusSeconds(3)); // 59 s left: refresh
        String second = tokens.accessToken(a);
        assertNotEquals(first, second);
        String refresh2 = storedRefreshToken(a);
        assertNotEquals("the server rotates refresh tokens; the new one is stored", refresh1, refresh2);

        // a restart: nothing in memory, the rotated token from the file works
        TokenService restarted = service();
        String third = restarted.accessToken(a);
        assertNotEquals(second, third);
        assertNotEquals(refresh2, storedRefreshToken(a));
    }

    @Test
    public void twoItemsOfOneAccountShareTheAuthorizationAndRefreshOnce() throws Exception {
        OAuth2Account collector = account("office", "bob@example.test");
        OAuth2Account sender = account("smarthost", "bob@example.test");
        assertEquals(collector.key(), sender.key());
        assertNotEquals(collector.key(), account("office", "alice@example.test").key());
        authorize(tokens, collector, "bob@example.test", "bob-pw");
        tokens.accessToken(collector);

        TokenService restarted = service(); // nothing cached: both must refresh, only one may
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Callable<String>> calls = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                OAuth2Account which = i % 2 == 0 ? collector : sender;
                calls.add(() -> restarted.accessToken(which));
            }
            List<String> got = new ArrayList<>();
            for (Future<String> f : pool.invokeAll(calls)) {
                got.add(f.get()); // a second refresh with the rotated-away token would fail with invalid_grant
            }
            assertEquals(1, got.stream().distinct().count());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    public void revokedAtTheProviderMeansAuthorizeAgain() throws Exception {
        OAuth2Account a = account("office-m365", "alice@example.test");
        authorize(tokens, a, "alice@example.test", "alice-pw");
        String stored = storedRefreshToken(a);
        server.revoke(stored);

        TokenService restarted = service();
        try {
            restarted.accessToken(a);
            fail("a revoked grant gave a token");
        } catch (OAuth2Exception e) {
            assertEquals(Kind.EXPIRED_OR_REVOKED, e.kind());
            assertTrue(e.needsAuthorization());
            assertEquals("collector 'office-m365' (io.uplink.collector-office-m365.cfg): authorization expired or "
                    + "revoked: run oauth:authorize office-m365", e.getMessage());
        }
        assertFalse(restarted.status(a).authorized());
        assertTrue(restarted.status(a).lastError().contains("run oauth:authorize office-m365"));
        assertFalse(restarted.status(a).lastError().contains(stored));
    }

    @Test
    public void revokeRevokesAtTheProviderAndForgetsLocally() throws Exception {
        OAuth2Account a = account("office", "alice@example.test");
        authorize(tokens, a, "alice@example.test", "alice-pw");
        String stored = storedRefreshToken(a);
        tokens.accessToken(a);

        assertTrue(tokens.revoke(a));
        assertFalse(Files.exists(secrets.resolve(a.key() + ".json")));
        assertFalse(tokens.status(a).authorized());
        assertNull(tokens.status(a).accessTokenExpiry());
        try {
            tokens.accessToken(a);
            fail("a forgotten authorization gave a token");
        } catch (OAuth2Exception e) {
            assertEquals(Kind.NOT_AUTHORIZED, e.kind());
            assertTrue(e.getMessage(), e.getMessage().endsWith("not authorized: run oauth:authorize office"));
        }
        // the provider no longer accepts it either
        new SecretStore(secrets).write(a.key(), new SecretStore.Grant(stored, "alice@example.test", "mail.read", null, null));
        try {
            service().accessToken(a);
            fail("the provider kept a revoked token");
        } catch (OAuth2Exception e) {
            assertEquals(Kind.EXPIRED_OR_REVOKED, e.kind());
        }
    }

    @Test
    public void refusedTokenIsRefreshedOnceEvenWhenTwoItemsReportIt() throws Exception {
        OAuth2Account a = account("office", "alice@example.test");
        OAuth2Account b = account("smarthost", "alice@example.test");
        authorize(tokens, a, "alice@example.test", "alice-pw");
        String refused = tokens.accessToken(a);
        String fresh = tokens.refreshAfterRefusal(a, refused);
        assertNotEquals(refused, fresh);
        assertEquals("the other item already has the replacement", fresh, tokens.refreshAfterRefusal(b, refused));
    }

    @Test
    public void unreachableTokenEndpointFailsThisFiringOnly() throws Exception {
        OAuth2Account good = account("office", "alice@example.test");
        authorize(tokens, good, "alice@example.test", "alice-pw");
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        OAuth2Account down = account("office", "alice@example.test", "http://127.0.0.1:" + closed + "/oauth2/token",
                server.deviceUrl());
        new SecretStore(secrets).write(down.key(), new SecretStore.Grant(storedRefreshToken(good),
                "alice@example.test", "mail.read", null, null));
        try {
            tokens.accessToken(down);
            fail();
        } catch (OAuth2Exception e) {
            assertEquals(Kind.UNAVAILABLE, e.kind());
            assertFalse(e.needsAuthorization());
            assertTrue(e.getMessage(), e.getMessage().contains("cannot be reached"));
        }
        assertTrue("the authorization is kept", Files.exists(secrets.resolve(down.key() + ".json")));
    }

    @Test
    public void serverErrorFromTheTokenEndpointFailsThisFiringOnly() throws Exception {
        HttpServer broken = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        broken.createContext("/", ex -> {
            ex.sendResponseHeaders(503, -1);
            ex.close();
        });
        broken.start();
        try {
            String url = "http://127.0.0.1:" + broken.getAddress().getPort() + "/token";
            OAuth2Account a = account("office", "alice@example.test", url, server.deviceUrl());
            new SecretStore(secrets).write(a.key(), new SecretStore.Grant("r1", "alice@example.test", "", null, null));
            try {
                tokens.accessToken(a);
                fail();
            } catch (OAuth2Exception e) {
                assertEquals(Kind.UNAVAILABLE, e.kind());
                assertTrue(e.getMessage(), e.getMessage().contains("answered 503; the next firing tries again"));
            }
            assertEquals("r1", new SecretStore(secrets).read(a.key()).orElseThrow().refreshToken());
        } finally {
            broken.stop(0);
        }
    }

    /** RFC 8628 §3.5: slow_down adds 5 s to the interval; expired_token stops with advice. */
    @Test
    public void pollingHonoursSlowDownAndStopsWhenTheCodeExpires() throws Exception {
        List<String> answers = new CopyOnWriteArrayList<>(List.of(
                "{\"error\":\"authorization_pending\"}", "{\"error\":\"slow_down\"}",
                "{\"error\":\"authorization_pending\"}", "{\"error\":\"expired_token\"}"));
        HttpServer scripted = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        scripted.createContext("/device", ex -> reply(ex, 200, "{\"device_code\":\"d\",\"user_code\":\"U-1\","
                + "\"verification_uri\":\"https://example.test/device\",\"expires_in\":600,\"interval\":2}"));
        scripted.createContext("/token", ex -> reply(ex, 400, answers.remove(0)));
        scripted.start();
        try {
            String base = "http://127.0.0.1:" + scripted.getAddress().getPort();
            OAuth2Account a = account("office", "alice@example.test", base + "/token", base + "/device");
            try {
                tokens.authorize(a, code -> assertEquals("U-1", code.userCode()));
                fail();
            } catch (OAuth2Exception e) {
                assertEquals(Kind.NOT_AUTHORIZED, e.kind());
                assertTrue(e.getMessage(), e.getMessage().contains("expired before it was approved: run oauth:authorize office"));
            }
            assertEquals(List.of(Duration.ofSeconds(2), Duration.ofSeconds(2), Duration.ofSeconds(7),
                    Duration.ofSeconds(7)), waits);
        } finally {
            scripted.stop(0);
        }
    }

    private static void reply(com.sun.net.httpserver.HttpExchange ex, int status, String json) throws IOException {
        byte[] b = json.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().add("Content-Type", "application/json");
        ex.sendResponseHeaders(status, b.length);
        ex.getResponseBody().write(b);
        ex.close();
    }
}

package io.uplink.itests;

import static org.awaitility.Awaitility.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.bundle;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.editConfigurationFilePut;

import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import javax.inject.Inject;

import org.junit.AfterClass;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;

import io.uplink.api.ConnectionService;
import io.uplink.api.FiringResult;
import io.uplink.api.Outcome;
import io.uplink.api.mail.MailSender;
import io.uplink.api.mail.Outbox;
import io.uplink.testing.oauth2.OAuth2Dovecot;
import io.uplink.testing.oauth2.OAuth2Postfix;
import io.uplink.testing.oauth2.OAuth2TestServer;

/**
 * OAuth2 in the distribution, the steps 1–7: authorize from the shell (the test approving the code as
 * a person would, on the authorization server's pages), collect over IMAP with OAUTHBEARER (send with XOAUTH2) from a Dovecot that
 * validates the JWTs, a refresh after expiry without anyone acting, a rotated refresh token that survives a
 * restart of the OAuth2 bundle, a revoked authorization (item fails with advice, nothing deleted, outbox
 * kept), owner-only secrets, and no token anywhere in data/, the logs or the status output.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class OAuth2IT extends UplinkTestSupport {

    private static final Pattern CODE = Pattern.compile("enter\\s+(\\S+)");
    private static final Pattern EXPIRY = Pattern.compile("\\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z");
    private static final Pattern REFRESH = Pattern.compile("\"refresh_token\":\"([^\"]+)\"");

    @Inject
    protected ConnectionService connections;

    @Inject
    protected Outbox outbox;

    private static OAuth2TestServer server;
    private static OAuth2Dovecot dovecot;
    private static OAuth2Postfix postfix;

    @Override
    protected Option[] extraOptions() {
        return new Option[] {
            bundle("file:" + System.getProperty("uplink.oauth2.testing.jar")),
            editConfigurationFilePut("etc/system.properties", "uplink.oauth2.server.jar",
                    System.getProperty("uplink.oauth2.server.jar")),
            // a short token lifetime needs a short refresh margin
            editConfigurationFilePut("etc/io.uplink.oauth2.cfg", "accessToken.margin", "1s")};
    }

    @AfterClass
    public static void stopServers() throws Exception {
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

    @Test
    public void authorizeCollectRefreshRotateRevoke() throws Exception {
        Path tmp = Files.createTempDirectory("uplink-oauth2-it");
        dovecot = OAuth2Dovecot.prepare(tmp.resolve("dovecot"), "mail.read", "office");
        server = OAuth2TestServer.start("PT6S", dovecot.keys, "office@example.test:office-pw");
        dovecot.start();
        // submission with SMTP AUTH XOAUTH2, the token checked by Dovecot's passdb oauth2
        postfix = OAuth2Postfix.start(tmp.resolve("postfix"), dovecot.authSocket());

        writeCfg("io.uplink.connection-it-oauth.cfg", "name = IT OAuth2\nmethod = network\n");
        writeCfg("io.uplink.collector-it-oauth.cfg", "connections = it-oauth\nprotocol = imap\nhost = 127.0.0.1\n"
                + "port = " + dovecot.imap + "\nsecurity = none\nusername = office@example.test\n"
                + "deliverTo = it-oauth\nauth = oauth2\noauth2.provider = custom\noauth2.tokenUrl = "
                + server.tokenUrl() + "\noauth2.deviceUrl = " + server.deviceUrl() + "\noauth2.revokeUrl = "
                + server.revokeUrl() + "\noauth2.clientId = " + OAuth2TestServer.CLIENT_ID
                + "\noauth2.clientSecret = " + OAuth2TestServer.CLIENT_SECRET + "\noauth2.scope = mail.read\n"
                // the collector signs in with OAUTHBEARER, the sender with XOAUTH2: both mechanisms in the distribution
                + "oauth2.mechanism = oauthbearer\n");
        await().atMost(30, TimeUnit.SECONDS).until(() -> connections.status("it-oauth").isPresent()
                && executeCommand("oauth:status").contains("it-oauth"));

        // 1. oauth:authorize through bin/uplink (a process, no terminal), approved by a "person" on the server's pages
        String printed = authorizeThroughScript("it-oauth");
        assertTrue(printed, printed.contains("Authorized: collector 'it-oauth' signs in as office@example.test"));
        String status = executeCommand("oauth:status");
        assertTrue(status, status.matches("(?s).*it-oauth\\s*\\|\\s*collector\\s*\\|\\s*yes\\s*\\|\\s*office@example.test.*"));

        // 6. owner-only secrets
        Path secrets = Path.of(System.getProperty("karaf.data"), "uplink", "secrets");
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(secrets)));
        Path tokenFile;
        try (Stream<Path> s = Files.list(secrets)) {
            List<Path> files = s.toList();
            assertEquals(files.toString(), 1, files.size());
            tokenFile = files.get(0);
        }
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(tokenFile)));
        String refresh1 = refreshToken(tokenFile);

        // 2. fire: collect works
        dovecot.deliver("office", mail("first"));
        FiringResult r = connections.fire("it-oauth", "test").await(Duration.ofSeconds(60));
        assertEquals(r.toString(), 1, r.counts().collected());
        assertTrue(r.toString(), r.errors().isEmpty());
        assertEquals(0, dovecot.messages("office"));
        assertTrue(dovecot.log(), dovecot.log().contains("imap-login: Info: Login: user=<office@example.test>, method=OAUTHBEARER,"));

        // 3. the access token expires (6 s, refreshed 1 s early) and the next firing refreshes it by itself
        String rotatedBy = refreshToken(tokenFile);
        Matcher expiry = EXPIRY.matcher(executeCommand("oauth:status"));
        assertTrue(expiry.find());
        Instant due = Instant.parse(expiry.group()).minusSeconds(1);
        await().atMost(30, TimeUnit.SECONDS).pollInterval(200, TimeUnit.MILLISECONDS)
                .until(() -> Instant.now().isAfter(due));
        dovecot.deliver("office", mail("second"));
        r = connections.fire("it-oauth", "test").await(Duration.ofSeconds(60));
        assertEquals(r.toString(), 1, r.counts().collected());
        String refresh2 = refreshToken(tokenFile);
        assertNotEquals("4. the refresh token was rotated and stored", rotatedBy, refresh2);
        assertNotEquals(refresh1, refresh2);

        // 4. ... and survives a restart: the OAuth2 bundle starts again with nothing in memory
        Bundle oauth2 = findBundleByName("io.uplink.oauth2");
        oauth2.stop();
        oauth2.start();
        await().atMost(30, TimeUnit.SECONDS).until(() -> oauth2.getState() == Bundle.ACTIVE
                && executeCommand("oauth:status").contains("it-oauth"));
        dovecot.deliver("office", mail("third"));
        r = connections.fire("it-oauth", "test").await(Duration.ofSeconds(60));
        assertEquals(r.toString(), 1, r.counts().collected());
        assertTrue(r.toString(), r.errors().isEmpty());

        // 7. no token in data/ (but the secrets folder), the logs, the status output
        String stored = refreshToken(tokenFile);
        for (String out : List.of(executeCommand("oauth:status"), executeCommand("connection:status it-oauth"),
                executeCommand("connection:history it-oauth"))) {
            assertFalse(out, out.contains(stored) || out.contains(refresh1) || out.contains("eyJ"));
        }
        try (Stream<Path> all = Files.walk(Path.of(System.getProperty("karaf.data")))) {
            for (Path f : all.filter(Files::isRegularFile).filter(f -> !f.startsWith(secrets)).toList()) {
                String text = new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1);
                assertFalse(f.toString(), text.contains(stored) || text.contains(refresh1) || text.contains(refresh2));
                // a JWT access token starts with the base64 of {"kid" / {"typ" / {"alg"
                assertFalse(f.toString(), text.contains("eyJraWQi") || text.contains("eyJ0eXAi"));
            }
        }

        // 5. the refresh token is revoked at the provider: ERROR with advice, nothing deleted, outbox kept
        writeCfg("io.uplink.sender-it-oauth.cfg", "hosts = 127.0.0.1:" + postfix.port + "\nsecurity = none\n"
                + "username = office@example.test\nauth = oauth2\noauth2.provider = custom\noauth2.tokenUrl = "
                + server.tokenUrl() + "\noauth2.deviceUrl = " + server.deviceUrl() + "\noauth2.clientId = "
                + OAuth2TestServer.CLIENT_ID + "\noauth2.clientSecret = " + OAuth2TestServer.CLIENT_SECRET
                + "\noauth2.scope = mail.read\n");
        writeCfg("io.uplink.connection-it-oauth.cfg", "name = IT OAuth2\nmethod = network\nsender = it-oauth\n");
        await().atMost(30, TimeUnit.SECONDS).until(() -> bundleContext.getServiceReferences(MailSender.class,
                "(" + MailSender.ID + "=it-oauth)").size() == 1
                && connections.status("it-oauth").map(c -> "it-oauth".equals(c.sender()) && c.problems().isEmpty()).orElse(false));
        outbox.queue("office@example.test", List.of("someone@example.net"),
                new ByteArrayInputStream(mail("queued")));
        int queued = outbox.size(); // the distribution may hold other mail (the demo's welcome message)
        server.revoke(stored);
        oauth2.stop(); // forget the cached access token, as after its expiry
        oauth2.start();
        await().atMost(30, TimeUnit.SECONDS).until(() -> oauth2.getState() == Bundle.ACTIVE
                && executeCommand("oauth:status").contains("it-oauth"));
        dovecot.deliver("office", mail("stays"));
        r = connections.fire("it-oauth", "test").await(Duration.ofSeconds(60));
        assertNotEquals(r.toString(), Outcome.OK, r.outcome());
        assertEquals(r.toString(), 0, r.counts().collected());
        assertTrue(r.toString(), r.errors().stream().anyMatch(e -> e.contains(
                "authorization expired or revoked: run oauth:authorize it-oauth")));
        assertEquals("nothing deleted on the server", 1, dovecot.messages("office"));
        assertEquals("the outbox is kept", queued, outbox.size());
        // the table wraps the last error at 70 characters: the Authorized column says it
        String after = executeCommand("oauth:status");
        assertTrue(after, after.matches("(?s).*it-oauth\\s*\\|\\s*collector\\s*\\|\\s*no\\s*\\|.*"));

        // 5. ... one error notice names the item and says what to do (no notify.to: the postmaster mailbox)
        String advice = "authorization expired or revoked: run oauth:authorize it-oauth";
        Path postmaster = Path.of(System.getProperty("karaf.data"), "uplink", "mailboxes", "postmaster", "new");
        String firing = r.firingId();
        await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> notices(postmaster, advice).size() == 1);
        String notice = Files.readString(notices(postmaster, advice).get(0));
        assertTrue(notice, notice.contains("Firing:     " + firing));
        assertTrue(notice, notice.contains("collector 'it-oauth'") && notice.contains("('it-oauth')"));
        assertFalse(notice, notice.contains(stored) || notice.contains(refresh1) || notice.contains("eyJ"));
        // the same failure again: the notice is held back (throttled), still one in the mailbox
        r = connections.fire("it-oauth", "test").await(Duration.ofSeconds(60));
        assertNotEquals(r.toString(), Outcome.OK, r.outcome());
        Path activityLog = Path.of(System.getProperty("karaf.data"), "uplink", "log", "it-oauth.log");
        String again = r.firingId();
        await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> Files.readString(activityLog).lines()
                .anyMatch(l -> l.contains("NOTICE [" + again + "]") && l.contains("held back")));
        assertEquals(1, notices(postmaster, advice).size());

        // the status page's Authorize button: a viewer sees the state but no code and may not start it
        HttpResponse<String> viewed = http("GET", "api/oauth2", "viewer:viewer");
        assertEquals(viewed.body(), 200, viewed.statusCode());
        assertTrue(viewed.body(), viewed.body().contains("{\"id\":\"it-oauth\",\"kind\":\"collector\",\"authorized\":false"));
        assertFalse(viewed.body(), viewed.body().contains("userCode"));
        // the item is in ERROR with the advice until a person authorizes it again
        for (String item : List.of("api/collectors/it-oauth", "api/senders/it-oauth")) {
            String task = http("GET", item, "viewer:viewer").body();
            assertEquals(task, "ERROR", field(task, "state"));
            assertTrue(task, field(task, "error").startsWith(item.contains("senders") ? "sender 'it-oauth'" : "collector 'it-oauth'"));
            assertTrue(task, field(task, "error").endsWith(advice));
        }
        HttpResponse<String> refused = http("POST", "api/oauth2/it-oauth/authorize", "viewer:viewer");
        assertEquals(refused.body(), 403, refused.statusCode());
        assertEquals(404, http("POST", "api/oauth2/nosuch/authorize", "karaf:karaf").statusCode());
        // an admin presses it: the code and the page to open come back, and the page shows them while it waits
        HttpResponse<String> started = http("POST", "api/oauth2/it-oauth/authorize", "karaf:karaf");
        assertEquals(started.body(), 202, started.statusCode());
        String userCode = field(started.body(), "userCode");
        assertEquals(server.base() + "/oauth2/device_verification", field(started.body(), "verificationUri"));
        String waiting = http("GET", "api/oauth2", "karaf:karaf").body();
        assertTrue(waiting, waiting.contains("\"userCode\":\"" + userCode + "\""));
        assertFalse(waiting, waiting.contains("\"authorized\":true"));
        // pressed again (or for the sender of the same account): the same code, not a second authorization
        assertEquals(userCode, field(http("POST", "api/oauth2/it-oauth/authorize", "karaf:karaf").body(), "userCode"));
        server.approve(userCode, "office@example.test", "office-pw");
        // the page polls until the item is green: the collector and the sender share the account's authorization
        await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).pollInterval(500, TimeUnit.MILLISECONDS).until(() -> {
            String b = http("GET", "api/oauth2", "karaf:karaf").body();
            return b.contains("{\"id\":\"it-oauth\",\"kind\":\"collector\",\"authorized\":true")
                    && b.contains("{\"id\":\"it-oauth\",\"kind\":\"sender\",\"authorized\":true");
        });
        String green = http("GET", "api/oauth2", "karaf:karaf").body();
        assertFalse(green, green.contains("userCode"));
        for (String item : List.of("api/collectors/it-oauth", "api/senders/it-oauth")) {
            String task = http("GET", item, "viewer:viewer").body();
            assertEquals("READY again without a firing: " + task, "READY", field(task, "state"));
        }
        String shared = executeCommand("oauth:status");
        assertTrue(shared, shared.matches("(?s).*it-oauth\\s*\\|\\s*collector\\s*\\|\\s*yes\\s*\\|.*"));
        assertTrue(shared, shared.matches("(?s).*it-oauth\\s*\\|\\s*sender\\s*\\|\\s*yes\\s*\\|.*"));
        // 2. with the authorization back, collecting and sending work (the mail queued during the outage leaves)
        r = connections.fire("it-oauth", "test").await(Duration.ofSeconds(60));
        assertEquals("collected after the page's authorization: " + r, 1, r.counts().collected());
        assertTrue("sent after the page's authorization: " + r, r.counts().sent() >= 1);
        assertTrue(r.toString(), outbox.list().stream().noneMatch(m -> m.pending().contains("someone@example.net")));
        await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> postfix.log()
                .contains("sasl_method=XOAUTH2, sasl_username=office@example.test"));

        // 7. ... and no token in the REST answers
        String current = refreshToken(tokenFile);
        assertNotEquals(stored, current);
        for (String path : List.of("api/", "api/connections", "api/connections/it-oauth", "api/collectors",
                "api/senders", "api/collectors/it-oauth", "api/senders/it-oauth", "api/outbox", "api/oauth2",
                "api/history", "api/activity", "api/connections/it-oauth/log")) {
            HttpResponse<String> answer = http("GET", path, "karaf:karaf");
            assertEquals(path + ": " + answer.body(), 200, answer.statusCode());
            for (String token : List.of(current, stored, refresh1, refresh2, "eyJ")) {
                assertFalse(path + " shows a token: " + answer.body(), answer.body().contains(token));
            }
        }
    }

    /** The notices in the postmaster mailbox that say {@code text}. */
    private static List<Path> notices(Path dir, String text) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(dir)) {
            List<Path> out = new ArrayList<>();
            for (Path f : files.toList()) {
                if (Files.readString(f).contains(text)) {
                    out.add(f);
                }
            }
            return out;
        }
    }

    /** A request to the status page's REST API as {@code user:password} (JSON body for a POST). */
    private HttpResponse<String> http(String method, String path, String login) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + getHttpPort() + "/uplink/" + path))
                .timeout(Duration.ofSeconds(90))
                .header("Authorization", "Basic " + Base64.getEncoder().encodeToString(login.getBytes(StandardCharsets.UTF_8)));
        if (method.equals("POST")) {
            b.header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{}"));
        }
        HttpClient client = HttpClient.newHttpClient();
        // the web feature starts with the container; its first request may come before Jetty listens
        return await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).ignoreExceptionsInstanceOf(IOException.class)
                .until(() -> client.send(b.build(), HttpResponse.BodyHandlers.ofString()), a -> a != null);
    }

    private static String field(String json, String name) {
        Matcher m = Pattern.compile("\"" + Pattern.quote(name) + "\":\"([^\"]*)\"").matcher(json);
        assertTrue(json, m.find());
        return m.group(1);
    }

    /**
     * Runs {@code bin/uplink oauth:authorize <id>} as a process with stdin from /dev/null and no terminal (as a
     * person's script or ssh without -t would), reads the code from its output while it waits, approves it as a
     * person would, and returns everything it printed once it ended with status 0.
     */
    private String authorizeThroughScript(String id) throws Exception {
        Path home = Path.of(System.getProperty("karaf.home"));
        ProcessBuilder pb = new ProcessBuilder(home.resolve("bin/uplink").toString(), "oauth:authorize", id)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).redirectErrorStream(true);
        pb.environment().remove("TERM");
        pb.environment().put("KARAF_BASE", System.getProperty("karaf.base", home.toString()));
        pb.environment().put("KARAF_ETC", System.getProperty("karaf.etc"));
        pb.environment().put("KARAF_DATA", System.getProperty("karaf.data"));
        Process p = pb.start();
        StringBuilder printed = new StringBuilder();
        CompletableFuture<String> code = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null;) {
                    synchronized (printed) {
                        printed.append(line).append('\n');
                    }
                    Matcher m = CODE.matcher(line);
                    if (m.find()) {
                        code.complete(m.group(1));
                    }
                }
            } catch (IOException e) {
                // the process ended
            }
            code.completeExceptionally(new AssertionError("no code printed: " + printed));
        }, "bin-uplink-output");
        reader.setDaemon(true);
        reader.start();
        try {
            // the code must come while the command still waits: the output is not held back until the end
            String shown;
            try {
                shown = code.get(90, TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                synchronized (printed) {
                    throw new AssertionError("no code within 90 s while the command waits; printed so far: " + printed);
                }
            }
            server.approve(shown, "office@example.test", "office-pw");
            assertTrue("bin/uplink oauth:authorize ended within 90 s of the approval", p.waitFor(90, TimeUnit.SECONDS));
            reader.join(10_000);
            synchronized (printed) {
                assertEquals(printed.toString(), 0, p.exitValue());
                return printed.toString();
            }
        } finally {
            p.destroyForcibly();
        }
    }

    private static String refreshToken(Path file) throws IOException {
        Matcher m = REFRESH.matcher(Files.readString(file));
        assertTrue(m.find());
        return m.group(1);
    }

    private static byte[] mail(String subject) {
        return ("From: a@example.test\r\nTo: office@example.test\r\nSubject: " + subject + "\r\n\r\nhello\r\n")
                .getBytes(StandardCharsets.US_ASCII);
    }
}

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
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import javax.inject.Inject;

import org.apache.karaf.shell.api.console.Session;
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
import io.uplink.testing.oauth2.OAuth2TestServer;

/**
 * OAuth2 in the distribution, the steps 1–7: authorize from the shell (the test approving the code as
 * a person would, on the authorization server's pages), collect over IMAP with XOAUTH2 from a Dovecot that
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

        writeCfg("io.uplink.connection-it-oauth.cfg", "name = IT OAuth2\nmethod = network\n");
        writeCfg("io.uplink.collector-it-oauth.cfg", "connections = it-oauth\nprotocol = imap\nhost = 127.0.0.1\n"
                + "port = " + dovecot.imap + "\nsecurity = none\nusername = office@example.test\n"
                + "deliverTo = it-oauth\nauth = oauth2\noauth2.provider = custom\noauth2.tokenUrl = "
                + server.tokenUrl() + "\noauth2.deviceUrl = " + server.deviceUrl() + "\noauth2.revokeUrl = "
                + server.revokeUrl() + "\noauth2.clientId = " + OAuth2TestServer.CLIENT_ID
                + "\noauth2.clientSecret = " + OAuth2TestServer.CLIENT_SECRET + "\noauth2.scope = mail.read\n");
        await().atMost(30, TimeUnit.SECONDS).until(() -> connections.status("it-oauth").isPresent()
                && executeCommand("oauth:status").contains("it-oauth"));

        // 1. oauth:authorize, approved by a "person" on the server's pages
        String printed = authorize("it-oauth");
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
        writeCfg("io.uplink.sender-it-oauth.cfg", "hosts = 127.0.0.1:" + dovecot.pop3 + "\nsecurity = none\n"
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
    }

    /** Runs oauth:authorize in a shell session, reads the code it prints, approves it as a person would. */
    private String authorize(String id) throws Exception {
        PipedInputStream pipe = new PipedInputStream(1 << 16);
        PrintStream out = new PrintStream(new PipedOutputStream(pipe), true, StandardCharsets.UTF_8);
        Session session = sessionFactory.create(new ByteArrayInputStream(new byte[0]), out, out);
        CompletableFuture<Object> done = CompletableFuture.supplyAsync(() -> {
            try {
                return session.execute("oauth:authorize " + id);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            } finally {
                out.close();
            }
        });
        StringBuilder printed = new StringBuilder();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(pipe, StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null;) {
                printed.append(line).append('\n');
                Matcher m = CODE.matcher(line);
                if (m.find()) {
                    server.approve(m.group(1), "office@example.test", "office-pw");
                }
            }
        }
        done.get(2, TimeUnit.MINUTES);
        session.close();
        return printed.toString();
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

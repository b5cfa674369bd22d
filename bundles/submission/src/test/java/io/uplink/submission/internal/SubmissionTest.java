package io.uplink.submission.internal;

import static org.awaitility.Awaitility.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;
import static org.junit.Assume.assumeTrue;

import io.uplink.api.config.ConfigException;
import io.uplink.api.mail.QueuedMessage;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import jakarta.mail.AuthenticationFailedException;
import jakarta.mail.Message;
import jakarta.mail.MessagingException;
import jakarta.mail.Session;
import jakarta.mail.Transport;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeMessage;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.eclipse.angus.mail.smtp.SMTPSendFailedException;

/** The listener with real clients: Angus Mail (AUTH + STARTTLS) and swaks (PIPELINING, SIZE, the open-relay probe). */
public class SubmissionTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private Fixture tlsListener() throws Exception {
        Path ks = Fixture.keystore(tmp.getRoot().toPath());
        return new Fixture(tmp.newFolder().toPath(), Map.of("tls", "starttls", "keystore", ks.toString(), "keystore.password",
                "changeit", "auth", "required", "senders.carol", "carol@office.test, *@shop.test", "maxMessageSize", "64K"));
    }

    private Session angus(Fixture f) throws Exception {
        return angus(f, "127.0.0.1", Fixture.keystore(tmp.getRoot().toPath()));
    }

    private Session angus(Fixture f, String host, Path keystore) throws Exception {
        Properties p = new Properties();
        p.put("mail.smtp.host", host);
        p.put("mail.smtp.port", Integer.toString(f.port));
        p.put("mail.smtp.auth", "true");
        p.put("mail.smtp.starttls.enable", "true");
        p.put("mail.smtp.starttls.required", "true");
        p.put("mail.smtp.ssl.checkserveridentity", "true");
        p.put("mail.smtp.ssl.socketFactory", Fixture.trusting(keystore).getSocketFactory());
        p.put("mail.smtp.timeout", "30000");
        return Session.getInstance(p);
    }

    private static MimeMessage message(Session s, String from, String to, String subject) throws MessagingException {
        MimeMessage m = new MimeMessage(s);
        m.setFrom(new InternetAddress(from));
        m.setRecipient(Message.RecipientType.TO, new InternetAddress(to));
        m.setSubject(subject);
        m.setText("Grüße aus dem Büro\n", "UTF-8");
        return m;
    }

    @Test
    public void angusWithStarttlsAndAuthIsQueuedDurably() throws Exception {
        try (Fixture f = tlsListener()) {
            Session s = angus(f);
            Transport.send(message(s, "alice@office.test", "customer@example.com", "order 17"), "alice", "secret");
            await().atMost(30, TimeUnit.SECONDS).until(() -> f.outbox.size() == 1);
            QueuedMessage q = f.outbox.list().get(0);
            assertEquals("alice@office.test", q.from());
            assertEquals(List.of("customer@example.com"), q.pending());
            try (InputStream in = f.outbox.open(q.id())) {
                String raw = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(raw, raw.contains("Subject: order 17"));
                assertTrue(raw, raw.startsWith("Received: "));
            }
            // a local recipient goes into the local Maildir, not the outbox
            Transport.send(message(s, "alice@office.test", "bob@office.test", "lunch"), "alice", "secret");
            assertEquals(1, f.delivered("bob"));
            assertEquals(1, f.outbox.size());
        }
    }

    @Test
    public void wrongPasswordAndMissingRoleAndForeignSenderAreRefused() throws Exception {
        try (Fixture f = tlsListener()) {
            Session s = angus(f);
            expectAuthFailure(s, "alice", "wrong");
            expectAuthFailure(s, "bob", "secret");
            try {
                Transport.send(message(s, "boss@office.test", "customer@example.com", "x"), "carol", "secret");
                fail("carol may not send as boss@office.test");
            } catch (SMTPSendFailedException e) {
                assertEquals(553, e.getReturnCode());
            }
            Transport.send(message(s, "orders@shop.test", "customer@example.com", "ok"), "carol", "secret");
            await().atMost(30, TimeUnit.SECONDS).until(() -> f.outbox.size() == 1);
        }
    }

    private static void expectAuthFailure(Session s, String user, String password) throws MessagingException {
        try {
            Transport.send(message(s, "alice@office.test", "customer@example.com", "x"), user, password);
            fail(user + " must not get in");
        } catch (AuthenticationFailedException e) {
            // refused
        }
    }

    @Test
    public void swaksPipeliningAndAdvertisedExtensions() throws Exception {
        try (Fixture f = new Fixture(tmp.getRoot().toPath(), Map.of("maxMessageSize", "64K"))) {
            Fixture.Swaks r = f.swaks("--pipeline", "--from", "app@office.test", "--to", "a@example.com,b@example.net",
                    "--header", "Subject: pipelined");
            assertEquals(r.transcript(), 0, r.exit());
            for (String ext : List.of("PIPELINING", "8BITMIME", "SIZE 65536", "ENHANCEDSTATUSCODES", "SMTPUTF8")) {
                assertTrue(ext + " in\n" + r.transcript(), r.transcript().contains("<-  250-" + ext)
                        || r.transcript().contains("<-  250 " + ext));
            }
            // swaks really pipelined: MAIL, RCPT, RCPT, DATA went out before the first reply came back
            String t = r.transcript();
            int mail = t.indexOf(" -> MAIL FROM:");
            assertTrue(t, mail > 0 && t.indexOf(" -> DATA", mail) > 0 && t.indexOf(" -> DATA", mail) < t.indexOf("<-  250 2.0.0 Ok", mail));
            assertTrue(t, t.contains("<-  250 2.0.0 Ok: queued as "));
            await().atMost(30, TimeUnit.SECONDS).until(() -> f.outbox.size() == 1);
            assertEquals(List.of("a@example.com", "b@example.net"), f.outbox.list().get(0).pending());
        }
    }

    @Test
    public void swaksOverSizeGets552AndNothingIsQueued() throws Exception {
        try (Fixture f = new Fixture(tmp.getRoot().toPath(), Map.of("maxMessageSize", "64K"))) {
            Path body = tmp.newFile("big.txt").toPath();
            Files.writeString(body, ("x".repeat(76) + "\r\n").repeat(1000));
            Fixture.Swaks r = f.swaks("--from", "app@office.test", "--to", "a@example.com", "--body", body.toString());
            assertTrue(r.transcript(), r.transcript().contains("<** 552 5.3.4"));
            assertEquals(0, f.outbox.size());
        }
    }

    @Test
    public void openRelayProbeFromOutsideTheNetworksIsRefused() throws Exception {
        // the test client on 127.0.0.1 is "outside" when networks names another block
        try (Fixture f = new Fixture(tmp.getRoot().toPath(), Map.of("networks", "10.0.0.0/8"))) {
            Fixture.Swaks relay = f.swaks("--from", "spammer@example.org", "--to", "victim@example.com");
            assertTrue(relay.transcript(), relay.transcript().contains("<** 550 5.7.1 <victim@example.com>: relaying denied"));
            assertEquals(0, f.outbox.size());
            // mail for a local domain is still taken, into the local mailbox
            Fixture.Swaks local = f.swaks("--from", "someone@example.org", "--to", "bob@office.test");
            assertEquals(local.transcript(), 0, local.exit());
            assertEquals(1, f.delivered("bob"));
            assertEquals(0, f.outbox.size());
        }
    }

    @Test
    public void aClientOnTheNetworkMustUseTlsToLogInAndCannotRelayWithout() throws Exception {
        java.net.InetAddress site = Fixture.siteAddress();
        assumeTrue("this machine has a non-loopback IPv4 address", site != null);
        String ip = site.getHostAddress();
        Path ks = Fixture.keystore(tmp.getRoot().toPath(), "site.p12", ",ip:" + ip);
        try (Fixture f = new Fixture(tmp.newFolder().toPath(), Map.of("listen", ip + ":0", "tls", "starttls", "keystore",
                ks.toString(), "keystore.password", "changeit"))) {
            // a real client outside networks (the default, loopback): the open-relay probe
            Fixture.Swaks relay = f.swaks("--from", "spammer@example.org", "--to", "victim@example.com");
            assertTrue(relay.transcript(), relay.transcript().contains("<** 550 5.7.1"));
            // a password in clear from the network is refused before it is checked
            Fixture.Swaks clear = f.swaks("--from", "app@office.test", "--to", "a@example.com", "--auth", "PLAIN",
                    "--auth-user", "alice", "--auth-password", "secret");
            assertTrue(clear.transcript(), clear.transcript().contains("538 5.7.11"));
            assertEquals(0, f.outbox.size());
            // over STARTTLS the same user gets through
            Transport.send(message(angus(f, ip, ks), "alice@office.test", "customer@example.com", "from the LAN"), "alice",
                    "secret");
            await().atMost(30, TimeUnit.SECONDS).until(() -> f.outbox.size() == 1);
        }
    }

    @Test
    public void unauthenticatedWithAuthRequiredGets530() throws Exception {
        try (Fixture f = new Fixture(tmp.getRoot().toPath(), Map.of("auth", "required"))) {
            Fixture.Swaks r = f.swaks("--from", "app@office.test", "--to", "a@example.com");
            assertTrue(r.transcript(), r.transcript().contains("<** 530 5.7.0 Authentication required"));
            Fixture.Swaks ok = f.swaks("--from", "app@office.test", "--to", "a@example.com", "--auth", "PLAIN",
                    "--auth-user", "alice", "--auth-password", "secret");
            assertEquals(ok.transcript(), 0, ok.exit());
            Fixture.Swaks login = f.swaks("--from", "app@office.test", "--to", "a@example.com", "--auth", "LOGIN",
                    "--auth-user", "alice", "--auth-password", "secret");
            assertEquals(login.transcript(), 0, login.exit());
            await().atMost(30, TimeUnit.SECONDS).until(() -> f.outbox.size() == 2);
        }
    }

    @Test
    public void diskNearlyFullGets452AndNothingIsQueued() throws Exception {
        try (Fixture f = new Fixture(tmp.getRoot().toPath(), Map.of("minFreeSpace", "1000000G"))) {
            Fixture.Swaks r = f.swaks("--from", "app@office.test", "--to", "a@example.com");
            assertTrue(r.transcript(), r.transcript().contains("<** 452 4.3.1 Insufficient system storage"));
            assertEquals(0, f.outbox.size());
        }
    }

    @Test
    public void tlsRequiredWithPemFilesRefusesPlainCommandsAndTakesMailOverTls() throws Exception {
        Path dir = tmp.getRoot().toPath();
        Path ks = Fixture.keystore(dir);
        Path cert = dir.resolve("server.crt");
        Path key = dir.resolve("server.key");
        openssl("pkcs12", "-in", ks.toString(), "-passin", "pass:changeit", "-nokeys", "-out", cert.toString());
        openssl("pkcs12", "-in", ks.toString(), "-passin", "pass:changeit", "-nocerts", "-nodes", "-out", key.toString());
        try (Fixture f = new Fixture(tmp.newFolder().toPath(), Map.of("tls", "required", "cert", cert.toString(), "key",
                key.toString()))) {
            Fixture.Swaks plain = f.swaks("--from", "app@office.test", "--to", "a@example.com");
            assertTrue(plain.transcript(), plain.transcript().contains("<** 530"));
            Transport.send(message(angus(f), "alice@office.test", "customer@example.com", "over tls"), "alice", "secret");
            await().atMost(30, TimeUnit.SECONDS).until(() -> f.outbox.size() == 1);
        }
    }

    private static void openssl(String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("openssl"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).inheritIO().start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(String.join(" ", cmd), 0, p.exitValue());
    }

    @Test
    public void badSettingsNameTheKey() {
        expectProblem(Map.of("listen", "127.0.0.1"), "key 'listen'");
        expectProblem(Map.of("tls", "sometimes"), "key 'tls'");
        expectProblem(Map.of("tls", "starttls"), "key 'tls'");
        expectProblem(Map.of("networks", "10.0.0.0/33"), "key 'networks'");
        expectProblem(Map.of("maxMessageSize", "lots"), "key 'maxMessageSize'");
        expectProblem(Map.of("senders.carol", "carol"), "key 'senders.carol'");
        expectProblem(Map.of("auth", "never"), "key 'auth'");
    }

    private static void expectProblem(Map<String, Object> settings, String text) {
        try {
            SubmissionConfig.of(settings);
            fail("accepted " + settings);
        } catch (ConfigException e) {
            assertTrue(e.getMessage(), e.getMessage().contains(text));
            assertTrue(e.getMessage(), e.getMessage().contains("io.uplink.submission"));
        }
    }
}

package io.uplink.mail.internal.send;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.uplink.api.mail.QueuedMessage;
import io.uplink.api.mail.SendReport;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import jakarta.mail.internet.MimeMessage;

import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;

/** The sender against GreenMail's real SMTP and SMTPS. */
public class GreenMailSendTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private GreenMail greenMail;
    private SendFixture f;

    @Before
    public void start() throws Exception {
        greenMail = new GreenMail(new ServerSetup[] {new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_SMTP),
                new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_SMTPS)});
        greenMail.start();
        f = new SendFixture(tmp.newFolder("data").toPath());
    }

    @After
    public void stop() {
        greenMail.stop();
    }

    private int smtp() {
        return greenMail.getSmtp().getPort();
    }

    private int smtps() {
        return greenMail.getSmtps().getPort();
    }

    static byte[] raw(MimeMessage m) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        m.writeTo(out);
        return out.toByteArray();
    }

    static boolean endsWith(byte[] all, byte[] tail) {
        return all.length >= tail.length && Arrays.equals(Arrays.copyOfRange(all, all.length - tail.length, all.length), tail);
    }

    static String firstDifferenceFromEnd(byte[] all, byte[] tail) {
        for (int i = 1; i <= tail.length; i++) {
            if (i > all.length || all[all.length - i] != tail[tail.length - i]) {
                return i + " (received " + (i > all.length ? "nothing" : all[all.length - i]) + ", sent " + tail[tail.length - i] + ")";
            }
        }
        return "nowhere";
    }

    @Test
    public void sendsEveryQueuedMessageAndEmptiesTheQueue() throws Exception {
        for (int i = 0; i < 5; i++) {
            f.queue(SendFixture.message("alice@example.org", "bob@example.net, carol@example.net", "hello " + i, "body " + i));
        }
        SmtpSender sender = f.sender("smarthost", "hosts", "127.0.0.1:" + smtp(), "security", "none");
        SendReport r = f.fire(sender);
        assertEquals(r.errors().toString(), 5, r.sent());
        assertEquals(0, r.deferred());
        assertEquals(0, f.outbox.size());
        assertEquals(10, greenMail.getReceivedMessages().length);
        for (String user : new String[] {"bob@example.net", "carol@example.net"}) {
            assertEquals(user, 5, greenMail.getManagers().getImapHostManager()
                    .getInbox(greenMail.getUserManager().getUserByEmail(user)).getMessageCount());
        }
    }

    @Test
    public void multipartAndEightBitMessagesArriveByteIdentical() throws Exception {
        String boundary = "----=_Part_0_123456.789";
        String multipart = "From: Zoë <zoe@example.org>\r\n"
                + "To: bob@example.net\r\n"
                + "Subject: =?UTF-8?Q?R=C3=A9sum=C3=A9?=\r\n"
                + "Message-ID: <multi@test>\r\n"
                + "MIME-Version: 1.0\r\n"
                + "Content-Type: multipart/mixed;\r\n\tboundary=\"" + boundary + "\"\r\n"
                + "\r\n"
                + "--" + boundary + "\r\n"
                + "Content-Type: text/plain; charset=UTF-8\r\n"
                + "Content-Transfer-Encoding: 8bit\r\n"
                + "\r\n"
                + "Grüße aus Köln – ça va? €\r\n"
                + ".a line starting with a dot\r\n"
                + "\r\n"
                + "--" + boundary + "\r\n"
                + "Content-Type: application/octet-stream; name=\"a.bin\"\r\n"
                + "Content-Transfer-Encoding: base64\r\n"
                + "Content-Disposition: attachment; filename=\"a.bin\"\r\n"
                + "\r\n"
                + "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v\r\n"
                + "--" + boundary + "--\r\n";
        byte[] bytes = multipart.getBytes(StandardCharsets.UTF_8);
        QueuedMessage q = f.queue(bytes);
        byte[] queued;
        try (var in = f.outbox.open(q.id())) {
            queued = in.readAllBytes();
        }
        assertArrayEquals("queued as given", bytes, queued);

        SendReport r = f.fire(f.sender("smarthost", "hosts", "127.0.0.1:" + smtp(), "security", "none"));
        assertEquals(r.errors().toString(), 1, r.sent());
        MimeMessage[] got = greenMail.getReceivedMessages();
        assertEquals(1, got.length);
        byte[] received = raw(got[0]);
        // GreenMail puts its trace headers in front and counts the last CRLF as part of the end-of-data
        // marker; everything else we sent follows byte for byte (ScriptedSmtpServer checks the full bytes)
        bytes = Arrays.copyOf(bytes, bytes.length - 2);
        assertTrue("received ends with the queued bytes; differs at " + firstDifferenceFromEnd(received, bytes)
                + " from the end:\n" + new String(received, StandardCharsets.UTF_8), endsWith(received, bytes));
    }

    @Test
    public void smtpsWithTheServersCertificateInTrustFile() throws Exception {
        Path pem = SendFixture.greenMailCertificatePem(tmp.getRoot().toPath());
        f.queue(SendFixture.message("alice@example.org", "bob@example.net", "over tls", "secret body"));
        SendReport r = f.fire(f.sender("tls", "hosts", "127.0.0.1:" + smtps(), "security", "tls",
                "trust.file", pem.toString()));
        assertEquals(r.errors().toString(), 1, r.sent());
        assertEquals(1, greenMail.getReceivedMessages().length);
    }

    @Test
    public void untrustedCertificateIsRefusedWithAClearErrorAndTheMessageStays() throws Exception {
        f.queue(SendFixture.message("alice@example.org", "bob@example.net", "over tls", "secret body"));
        SendReport r = f.fire(f.sender("tls", "hosts", "127.0.0.1:" + smtps(), "security", "tls"));
        assertEquals(0, r.sent());
        assertEquals(1, r.deferred());
        assertTrue(r.taskFailed());
        String e = r.errors().get(0);
        assertTrue(e, e.contains("sender 'tls'") && e.contains("not trusted") && e.contains("trust.file")
                && e.contains("GreenMail"));
        assertEquals(0, greenMail.getReceivedMessages().length);
        assertEquals(1, f.outbox.size());
        assertEquals("not even tried: the server is not trusted", 0, f.outbox.list().get(0).attempts());
    }

    @Test
    public void aBadSettingIsReportedWithSenderFileAndKey() throws Exception {
        f.queue(SendFixture.message("alice@example.org", "bob@example.net", "x", "y"));
        SendReport r = f.fire(f.sender("broken", "hosts", "127.0.0.1:" + smtp(), "security", "tls-please"));
        assertEquals(1, r.deferred());
        String e = r.errors().get(0);
        assertTrue(e, e.contains("sender 'broken'") && e.contains("io.uplink.sender-broken.cfg")
                && e.contains("'security'") && e.contains("starttls-if-available"));
        SendReport r2 = f.fire(f.sender("broken2", "hosts", "127.0.0.1:" + smtp(), "security", "none",
                "trust.file", tmp.getRoot().toPath().resolve("missing.pem").toString()));
        assertTrue(r2.errors().get(0), r2.errors().get(0).contains("'trust.file'") && r2.errors().get(0).contains("missing.pem"));
        assertEquals(0, greenMail.getReceivedMessages().length);
        assertEquals(1, f.outbox.size());
    }

    @Test
    public void thePasswordNeverAppearsInReportsOrStrings() throws Exception {
        f.queue(SendFixture.message("alice@example.org", "bob@example.net", "x", "y"));
        // GreenMail SMTPS without trust: the error path; and the config's string form
        SmtpSender s = f.sender("auth", "hosts", "127.0.0.1:" + smtps(), "security", "tls", "username", "alice",
                "password", "Sup3rS3cret");
        SendReport r = f.fire(s);
        assertTrue(!r.errors().toString().contains("Sup3rS3cret"));
        assertTrue(!s.toString().contains("Sup3rS3cret"));
        assertTrue(Files.exists(f.outbox.root()));
    }
}

package io.uplink.itests;

import static org.awaitility.Awaitility.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.uplink.api.ConnectionService;
import io.uplink.api.FiringResult;
import io.uplink.api.Outcome;
import io.uplink.api.mail.MailSender;
import io.uplink.api.mail.Outbox;
import io.uplink.api.mail.QueuedMessage;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import javax.inject.Inject;

import jakarta.mail.internet.MimeMessage;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;

import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;

/**
 * Sending in the real distribution: the demo's welcome message goes out with the demo connection; cfg files
 * for a connection and a sender against a GreenMail in the container; a firing sends a multipart message
 * byte-identical over SMTP.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class MailSendIT extends UplinkTestSupport {

    private static final Duration WAIT = Duration.ofSeconds(60);

    @Inject
    protected ConnectionService connections;

    @Inject
    protected Outbox outbox;

    @Test
    public void demoAndConfiguredSenderSendTheQueue() throws Exception {
        // 1. out of the box: the demo connection sends the queued welcome message to the demo server
        await().atMost(30, TimeUnit.SECONDS).until(() -> connections.status("demo").isPresent()
                && getOsgiService(MailSender.class, "(" + MailSender.ID + "=demo)", 1000) != null);
        await().atMost(30, TimeUnit.SECONDS).until(() -> outbox.list().stream()
                .anyMatch(m -> m.pending().contains("demo@localhost")));
        FiringResult demo = connections.fire("demo", "test").await(WAIT);
        assertEquals(demo.toString(), 0, demo.counts().deferred());
        assertTrue(demo.toString(), demo.counts().sent() >= 1);
        assertEquals(0, outbox.size());

        // 2. a connection and a sender from cfg files, against a GreenMail in the container
        GreenMail server = new GreenMail(new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_SMTP));
        server.start();
        try {
            writeCfg("io.uplink.sender-it-relay.cfg", "hosts = 127.0.0.1:" + server.getSmtp().getPort()
                    + "\nsecurity = none\n");
            writeCfg("io.uplink.connection-it-send.cfg", "name = Send test\nmethod = network\nsender = it-relay\n");
            // the sender's service can be seen a moment before the engine has bound it: wait for the engine's view too
            await().atMost(30, TimeUnit.SECONDS).until(() -> connections.status("it-send").isPresent()
                    && getOsgiService(MailSender.class, "(" + MailSender.ID + "=it-relay)", 1000) != null
                    && connections.status("it-send").get().problems().stream().noneMatch(p -> p.startsWith("sender 'it-relay'")));

            String boundary = "b0undary-" + System.nanoTime();
            String multipart = "From: Zoë <zoe@example.org>\r\nTo: bob@example.net\r\nSubject: multipart\r\n"
                    + "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"" + boundary + "\"\r\n\r\n"
                    + "--" + boundary + "\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                    + "Grüße – €\r\n.dot\r\n--" + boundary + "\r\nContent-Type: application/octet-stream\r\n"
                    + "Content-Transfer-Encoding: base64\r\n\r\nAAECAwQFBgcICQ==\r\n--" + boundary + "--\r\n";
            byte[] bytes = multipart.getBytes(StandardCharsets.UTF_8);
            QueuedMessage q = outbox.queue(null, List.of(), new ByteArrayInputStream(bytes));
            assertEquals(List.of("bob@example.net"), q.pending());

            FiringResult r = connections.fire("it-send", "test").await(WAIT);
            assertEquals(r.toString(), Outcome.OK, r.outcome());
            assertEquals(r.toString(), 1, r.counts().sent());
            assertEquals(0, outbox.size());
            MimeMessage[] got = server.getReceivedMessages();
            assertEquals(1, got.length);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            got[0].writeTo(out);
            byte[] received = out.toByteArray();
            // GreenMail adds trace headers in front and takes the last CRLF as part of the end marker
            byte[] tail = Arrays.copyOf(bytes, bytes.length - 2);
            assertTrue(new String(received, StandardCharsets.UTF_8), Arrays.equals(
                    Arrays.copyOfRange(received, received.length - tail.length, received.length), tail));

            // 3. a file in the pickup folder is queued and goes at the next firing
            Path pickup = Path.of(System.getProperty("karaf.data"), "uplink", "pickup");
            Path tmp = pickup.resolve(".drop.eml");
            Files.writeString(tmp, "From: a@example.org\r\nTo: carol@example.net\r\nBcc: dave@example.net\r\n"
                    + "Subject: picked up\r\n\r\nhello\r\n");
            Files.move(tmp, pickup.resolve("drop.eml"));
            await().atMost(30, TimeUnit.SECONDS).until(() -> outbox.size() == 1);
            FiringResult r2 = connections.fire("it-send", "test").await(WAIT);
            assertEquals(r2.toString(), 1, r2.counts().sent());
            assertEquals(3, server.getReceivedMessages().length);
        } finally {
            Files.deleteIfExists(etc().resolve("io.uplink.connection-it-send.cfg"));
            Files.deleteIfExists(etc().resolve("io.uplink.sender-it-relay.cfg"));
            server.stop();
        }
    }
}

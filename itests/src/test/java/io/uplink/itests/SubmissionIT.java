package io.uplink.itests;

import static io.uplink.itests.SmtpDialog.reply;
import static io.uplink.itests.SmtpDialog.send;
import static org.awaitility.Awaitility.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.uplink.api.ConnectionService;
import io.uplink.api.FiringResult;
import io.uplink.api.mail.MailSender;
import io.uplink.api.mail.Outbox;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import javax.inject.Inject;

import org.awaitility.core.ConditionTimeoutException;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;

import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;

/**
 * The submission listener in the distribution: the default listener on 127.0.0.1:2525 takes a message from a
 * loopback client and the demo connection sends it; a cfg file moves the listener (hot reload) and turns on AUTH
 * against the JAAS realm.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class SubmissionIT extends UplinkTestSupport {

    @Inject
    protected ConnectionService connections;

    @Inject
    protected Outbox outbox;

    @Test
    public void defaultListenerTakesMailThatTheDemoSends() throws Exception {
        Bundle b = findBundleByName("io.uplink.submission");
        assertEquals(Bundle.ACTIVE, b.getState());
        await().atMost(30, TimeUnit.SECONDS).until(() -> connections.status("demo").isPresent()
                && getOsgiService(MailSender.class, "(" + MailSender.ID + "=demo)", 1000) != null);
        // the demo's own welcome message goes first, so what is left is ours
        connections.fire("demo", "test").await(Duration.ofSeconds(60));
        assertEquals(0, outbox.size());

        // A 250 whose message never shows in this outbox came from the previous test container's listener, still
        // shutting down (this one takes 2525 once it is free): submit again then, but only then
        await().atMost(90, TimeUnit.SECONDS).pollInterval(1, TimeUnit.SECONDS).until(() -> {
            String reply = submit(2525, "MAIL FROM:<me@office.test>", "RCPT TO:<demo@localhost>");
            assertTrue(reply, reply.startsWith("250 2.0.0 Ok: queued as "));
            try {
                await().atMost(20, TimeUnit.SECONDS).until(() -> outbox.size() > 0);
                return true;
            } catch (ConditionTimeoutException e) {
                return false;
            }
        });
        assertEquals(1, outbox.size());

        FiringResult r = connections.fire("demo", "test").await(Duration.ofSeconds(60));
        assertEquals(r.toString(), 1, r.counts().sent());
        assertEquals(0, outbox.size());
    }

    @Test
    public void aCfgFileMovesTheListenerAndRequiresLogin() throws Exception {
        GreenMail probe = new GreenMail(new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_SMTP));
        probe.start();
        int port = probe.getSmtp().getPort();
        probe.stop();
        try {
            writeCfg("io.uplink.submission.cfg", "listen = 127.0.0.1:" + port + "\nauth = required\n");
            await().atMost(30, TimeUnit.SECONDS).ignoreExceptions().until(() -> submit(port, "MAIL FROM:<me@office.test>")
                    .startsWith("530 5.7.0"));
        } finally {
            Files.deleteIfExists(etc().resolve("io.uplink.submission.cfg"));
        }
        // back to the defaults
        await().atMost(30, TimeUnit.SECONDS).ignoreExceptions().until(() -> submit(2525, "MAIL FROM:<me@office.test>",
                "RSET").startsWith("250"));
    }

    /** A lock-step SMTP session: EHLO, the commands, a message when RCPT was given; returns the last reply. */
    private static String submit(int port, String... commands) throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(30_000);
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
            OutputStream out = s.getOutputStream();
            String last = reply(in);
            last = send(out, in, "EHLO it.test");
            boolean rcpt = false;
            for (String c : commands) {
                last = send(out, in, c);
                if (!last.startsWith("2")) {
                    return last;
                }
                rcpt |= c.startsWith("RCPT");
            }
            if (rcpt) {
                send(out, in, "DATA");
                last = send(out, in, "From: me@office.test\r\nTo: demo@localhost\r\nSubject: submitted\r\n\r\nhello\r\n.");
            }
            send(out, in, "QUIT");
            return last;
        }
    }
}

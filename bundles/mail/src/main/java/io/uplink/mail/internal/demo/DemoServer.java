package io.uplink.mail.internal.demo;

import io.uplink.api.config.ConfigException;
import io.uplink.api.config.Settings;
import io.uplink.api.mail.Outbox;
import io.uplink.api.mail.QueuedMessage;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import jakarta.mail.MessagingException;
import jakarta.mail.Session;
import jakarta.mail.internet.MimeMessage;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.icegreen.greenmail.user.GreenMailUser;
import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;

/**
 * The out-of-the-box demo ({@code etc/io.uplink.demo.cfg}, feature {@code uplink-demo}): an embedded mail
 * server (GreenMail) on loopback with the account {@code demo}/{@code demo} holding a few messages, and a
 * welcome message queued once in the outbox, so that {@code connection:fire --wait demo} sends and collects
 * right after the first start. Plain text on loopback only: the demo server never listens on a network.
 * GreenMail keeps its mail in memory, so the demo messages are put on it only at the very first start (a
 * marker under {@code ${karaf.data}/uplink/demo} remembers it): a restart must not offer the same three
 * messages to the demo collector again.
 */
@Component(immediate = true, configurationPid = DemoServer.PID, configurationPolicy = ConfigurationPolicy.REQUIRE,
        service = DemoServer.class)
@Designate(ocd = DemoOcd.class)
public class DemoServer {

    static final String PID = "io.uplink.demo";
    static final String USER = "demo";
    static final String ADDRESS = "demo@localhost";
    private static final Logger LOG = LoggerFactory.getLogger(DemoServer.class);

    private final GreenMail server;

    @Activate
    public DemoServer(@Reference Outbox outbox, Map<String, Object> properties) throws IOException {
        Settings s = Settings.of("demo", PID, properties);
        for (String w : s.unknownKeys(Settings.keysOf(DemoOcd.class))) {
            LOG.warn("{}: {}", s.item(), w);
        }
        try {
            if (!s.bool("enabled", true)) {
                LOG.info("Uplink demo mail server is off (enabled = false in {})", s.file());
                server = null;
                return;
            }
            String host = s.string("host", "127.0.0.1");
            if (!host.equals("127.0.0.1") && !host.equals("::1") && !host.equals("localhost")) {
                throw s.problem("host", "must be a loopback address (127.0.0.1, ::1, localhost): the demo server has "
                        + "a well-known password and no TLS");
            }
            int smtp = s.integer("smtp.port", 3025, 1, 65535);
            int pop3 = s.integer("pop3.port", 3110, 1, 65535);
            int imap = s.integer("imap.port", 3143, 1, 65535);
            String password = s.string("password", "demo");
            Path data = Path.of(System.getProperty("karaf.data", "data"), "uplink", "demo");
            server = start(host, smtp, pop3, imap, password, data.resolve("mailbox-seeded"));
            LOG.info("Uplink demo mail server on {}: SMTP {}, POP3 {}, IMAP {}, account '{}'", host, smtp, pop3, imap, USER);
            queueWelcomeOnce(outbox, data.resolve("welcome-queued"));
        } catch (ConfigException e) {
            LOG.error("{}", e.getMessage());
            throw e;
        }
    }

    private static GreenMail start(String host, int smtp, int pop3, int imap, String password, Path seeded)
            throws IOException {
        ClassLoader before = Thread.currentThread().getContextClassLoader();
        Thread.currentThread().setContextClassLoader(GreenMail.class.getClassLoader());
        try {
            GreenMail gm = new GreenMail(new ServerSetup[] {new ServerSetup(smtp, host, ServerSetup.PROTOCOL_SMTP),
                    new ServerSetup(pop3, host, ServerSetup.PROTOCOL_POP3),
                    new ServerSetup(imap, host, ServerSetup.PROTOCOL_IMAP)});
            gm.start();
            GreenMailUser user = gm.setUser(ADDRESS, USER, password);
            if (Files.exists(seeded)) {
                return gm;
            }
            Session session = Session.getInstance(new Properties());
            String[][] mails = {
                {"Welcome to the Uplink demo mailbox", "This message waited on the demo server. A firing of the 'demo'\r\n"
                        + "connection collected it into data/uplink/mailboxes/demo.\r\n"},
                {"How Uplink collects", "A Mail Collector logs in (POP3 or IMAP), stores each message in a local\r\n"
                        + "Maildir, forces it to disk, and only then deletes it on the server.\r\n"},
                {"Pointing Uplink at your provider", "Copy etc/io.uplink.sender-smarthost.cfg.sample to\r\n"
                        + "etc/io.uplink.sender-smarthost.cfg, fill in your provider's SMTP relay, and name it\r\n"
                        + "in your connection (sender = smarthost).\r\n"},
            };
            for (String[] m : mails) {
                user.deliver(new MimeMessage(session, new ByteArrayInputStream(
                        message("Uplink demo <postmaster@localhost>", ADDRESS, m[0], m[1]))));
            }
            Files.createDirectories(seeded.getParent());
            Files.writeString(seeded, "the demo messages were put on the demo server" + System.lineSeparator());
            LOG.info("Put {} demo messages on the demo server (once: {} remembers it)", mails.length, seeded);
            return gm;
        } catch (MessagingException | RuntimeException e) {
            throw new IOException("the demo mail server cannot start: " + e.getMessage(), e);
        } finally {
            Thread.currentThread().setContextClassLoader(before);
        }
    }

    private static void queueWelcomeOnce(Outbox outbox, Path marker) throws IOException {
        if (Files.exists(marker)) {
            return;
        }
        byte[] welcome = message("Uplink <uplink@localhost>", ADDRESS, "Hello from Uplink",
                "This welcome message was queued in Uplink's outbox when the distribution first started.\r\n"
                        + "The 'demo' connection's Mail Sender relayed it to the demo mail server.\r\n");
        QueuedMessage q = outbox.queue(null, List.of(), new ByteArrayInputStream(welcome));
        Files.createDirectories(marker.getParent());
        Files.writeString(marker, q.id() + System.lineSeparator());
        LOG.info("Queued the demo welcome message {} for {}", q.id(), ADDRESS);
    }

    static byte[] message(String from, String to, String subject, String body) {
        String m = "From: " + from + "\r\nTo: " + to + "\r\nSubject: " + subject + "\r\nDate: "
                + DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.now()) + "\r\nMessage-ID: <"
                + java.util.UUID.randomUUID() + "@uplink.demo>\r\nMIME-Version: 1.0\r\n"
                + "Content-Type: text/plain; charset=UTF-8\r\n\r\n" + body;
        return m.getBytes(StandardCharsets.UTF_8);
    }

    /** How many messages the demo account holds now. */
    int waiting() {
        return server == null ? 0 : server.getReceivedMessagesForDomain("localhost").length;
    }

    @Deactivate
    void deactivate() {
        if (server != null) {
            server.stop();
        }
    }
}

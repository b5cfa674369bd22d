package io.uplink.itests;

import static org.awaitility.Awaitility.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.mavenBundle;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import javax.inject.Inject;

import jakarta.mail.Session;
import jakarta.mail.internet.MimeMessage;

import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;

import com.icegreen.greenmail.user.GreenMailUser;
import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;

import io.uplink.api.ConnectionService;
import io.uplink.api.FiringResult;
import io.uplink.api.mail.LocalMailboxes;

/**
 * Delivery of collected mail in the real distribution: a collector with {@code delivery = smtp://…} hands
 * the message to the office's SMTP server (GreenMail) with the {@code deliverTo} address as envelope
 * recipient (the Commons Net bundle resolves in the feature), and {@code mailboxes.dir} in
 * {@code etc/io.uplink.mail.cfg} moves where collectors and bounces write their Maildirs.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class MailDeliveryIT extends UplinkTestSupport {

    @Inject
    protected ConnectionService connections;

    private GreenMail remote;
    private GreenMail office;
    private String mailCfg;

    @Override
    protected Option[] extraOptions() {
        return new Option[] {mavenBundle("com.icegreen", "greenmail").versionAsInProject()};
    }

    @Before
    public void start() throws Exception {
        remote = new GreenMail(new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_POP3));
        remote.start();
        office = new GreenMail(new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_SMTP));
        office.start();
        Path cfg = etc().resolve("io.uplink.mail.cfg");
        mailCfg = Files.exists(cfg) ? Files.readString(cfg) : null;
    }

    @After
    public void stop() throws Exception {
        remote.stop();
        office.stop();
        for (String f : new String[] {"io.uplink.connection-it-deliver.cfg", "io.uplink.collector-it-deliver.cfg"}) {
            Files.deleteIfExists(etc().resolve(f));
        }
        if (mailCfg != null) {
            writeCfg("io.uplink.mail.cfg", mailCfg);
        }
    }

    private GreenMailUser account(String subject) throws Exception {
        GreenMailUser isp = remote.setUser("office@isp.test", "office", "pw");
        MimeMessage m = new MimeMessage(Session.getInstance(new java.util.Properties()));
        m.setFrom("bob@example.net");
        m.setRecipients(jakarta.mail.Message.RecipientType.TO, "alice@office.test");
        m.setSubject(subject);
        m.setText("hello " + subject);
        isp.deliver(m);
        return isp;
    }

    private FiringResult fire(String delivery, String deliverTo) throws Exception {
        writeCfg("io.uplink.connection-it-deliver.cfg", "name = IT delivery\nmethod = network\n");
        writeCfg("io.uplink.collector-it-deliver.cfg", "connections = it-deliver\nprotocol = pop3\nhost = 127.0.0.1\n"
                + "port = " + remote.getPop3().getPort() + "\nsecurity = none\nusername = office\npassword = pw\n"
                + "deliverTo = " + deliverTo + "\ndelivery = " + delivery + "\n");
        await().atMost(30, TimeUnit.SECONDS).until(() -> connections.status("it-deliver").isPresent());
        // the collector's file may land after the connection's: fire until it has run
        FiringResult[] last = new FiringResult[1];
        await().atMost(60, TimeUnit.SECONDS).pollInterval(500, TimeUnit.MILLISECONDS).until(() -> {
            last[0] = connections.fire("it-deliver", "test").await(Duration.ofSeconds(60));
            return last[0].counts().collected() > 0 || !last[0].errors().isEmpty();
        });
        return last[0];
    }

    @Test
    public void smtpDeliveryHandsTheMessageToTheOfficeServerForTheDeliverToAddress() throws Exception {
        GreenMailUser isp = account("to the office server");
        FiringResult r = fire("smtp://127.0.0.1:" + office.getSmtp().getPort(), "alice@office.test");
        assertTrue(r.toString(), r.errors().isEmpty());
        assertEquals(r.toString(), 1, r.counts().collected());
        GreenMailUser alice = office.getManagers().getUserManager().getUserByEmail("alice@office.test");
        assertEquals(1, office.getManagers().getImapHostManager().getInbox(alice).getMessageCount());
        assertEquals(0, remote.getManagers().getImapHostManager().getInbox(isp).getMessageCount());
    }

    @Test
    public void mailboxesDirMovesTheMaildirs() throws Exception {
        Path moved = Path.of(System.getProperty("karaf.data"), "moved-mailboxes");
        writeCfg("io.uplink.mail.cfg", (mailCfg != null ? mailCfg : "") + "\nmailboxes.dir = " + moved + "\n");
        // the mail settings are taken once the outbox component writes there
        await().atMost(30, TimeUnit.SECONDS).pollInterval(200, TimeUnit.MILLISECONDS).until(() -> {
            // looked up each time: a changed configuration replaces the component
            org.osgi.framework.ServiceReference<LocalMailboxes> ref = bundleContext.getServiceReference(LocalMailboxes.class);
            LocalMailboxes local = ref == null ? null : bundleContext.getService(ref);
            if (local == null) {
                return false;
            }
            try {
                local.deliver("probe", new ByteArrayInputStream(
                        "Subject: probe\r\n\r\nprobe\r\n".getBytes(StandardCharsets.US_ASCII)));
            } catch (RuntimeException e) {
                return false; // the component is being replaced
            } finally {
                bundleContext.ungetService(ref);
            }
            return Files.isDirectory(moved.resolve("probe/new"));
        });
        GreenMailUser isp = account("into the moved maildir");
        FiringResult r = fire("maildir", "alice");
        assertTrue(r.toString(), r.errors().isEmpty());
        assertEquals(1, count(moved.resolve("alice/new")));
        assertEquals(0, remote.getManagers().getImapHostManager().getInbox(isp).getMessageCount());
    }

    private static long count(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.count();
        }
    }
}

package io.uplink.itests;

import static org.awaitility.Awaitility.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.mavenBundle;

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
import org.osgi.framework.ServiceReference;

import com.icegreen.greenmail.user.GreenMailUser;
import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;

import io.uplink.api.ConnectionService;
import io.uplink.api.FiringResult;
import io.uplink.api.mail.MailCollector;

/**
 * Mail Collectors as cfg files in the real distribution: a connection and two collectors (POP3 and IMAP)
 * against GreenMail inside the container; firing the connection collects both accounts into Maildirs.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class MailCollectIT extends UplinkTestSupport {

    @Inject
    protected ConnectionService connections;

    private GreenMail greenMail;

    @Override
    protected Option[] extraOptions() {
        return new Option[] {mavenBundle("com.icegreen", "greenmail").versionAsInProject()};
    }

    @Before
    public void startServer() {
        greenMail = new GreenMail(new ServerSetup[] {new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_POP3),
            new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_IMAP)});
        greenMail.start();
    }

    @After
    public void stopServer() throws Exception {
        greenMail.stop();
        for (String f : new String[] {"io.uplink.connection-it-mail.cfg", "io.uplink.collector-it-pop.cfg",
            "io.uplink.collector-it-imap.cfg", "io.uplink.collector-it-idle.cfg", "io.uplink.schedule-it-idle.cfg",
            "io.uplink.connection-it-idle.cfg"}) {
            Files.deleteIfExists(etc().resolve(f));
        }
    }

    @Test
    public void firingTheConnectionCollectsBothAccountsIntoMaildirs() throws Exception {
        GreenMailUser pop = greenMail.setUser("pop@example.com", "popuser", "pop-pw");
        GreenMailUser imap = greenMail.setUser("imap@example.com", "imapuser", "imap-pw");
        Session s = Session.getInstance(new java.util.Properties());
        for (int i = 0; i < 3; i++) {
            MimeMessage m = new MimeMessage(s);
            m.setFrom("bob@example.net");
            m.setSubject("pop " + i);
            m.setText("hello pop " + i);
            pop.deliver(m);
        }
        for (int i = 0; i < 2; i++) {
            MimeMessage m = new MimeMessage(s);
            m.setFrom("bob@example.net");
            m.setSubject("imap " + i);
            m.setText("hello imap " + i);
            imap.deliver(m);
        }

        writeCfg("io.uplink.connection-it-mail.cfg", "name = IT mail\nmethod = network\n");
        writeCfg("io.uplink.collector-it-pop.cfg", "connections = it-mail\nprotocol = pop3\nhost = 127.0.0.1\nport = "
                + greenMail.getPop3().getPort() + "\nsecurity = none\nusername = popuser\npassword = pop-pw\n"
                + "deliverTo = it-pop\npriority = 1\n");
        writeCfg("io.uplink.collector-it-imap.cfg", "connections = it-mail\nprotocol = imap\nhost = 127.0.0.1\nport = "
                + greenMail.getImap().getPort() + "\nsecurity = none\nusername = imapuser\npassword = imap-pw\n"
                + "deliverTo = it-imap\npriority = 2\n");
        await().atMost(30, TimeUnit.SECONDS).until(() -> connections.status("it-mail").isPresent()
                && collectors("it-mail") == 2);

        FiringResult r = connections.fire("it-mail", "test").await(Duration.ofSeconds(60));
        assertEquals(r.toString(), 5, r.counts().collected());
        assertTrue(r.toString(), r.errors().isEmpty());

        Path mailboxes = Path.of(System.getProperty("karaf.data"), "uplink", "mailboxes");
        assertEquals(3, count(mailboxes.resolve("it-pop/new")));
        assertEquals(2, count(mailboxes.resolve("it-imap/new")));
        assertEquals(0, greenMail.getManagers().getImapHostManager().getInbox(pop).getMessageCount());
        assertEquals(0, greenMail.getManagers().getImapHostManager().getInbox(imap).getMessageCount());

        FiringResult again = connections.fire("it-mail", "test").await(Duration.ofSeconds(60));
        assertEquals(0, again.counts().collected());
        assertEquals(3, count(mailboxes.resolve("it-pop/new")));
    }

    /**
     * Live delivery in the distribution: an IMAP collector with idle = true on a network connection that a
     * schedule item makes due all day collects a message APPENDed over IMAP without any firing.
     */
    @Test
    public void idleCollectorCollectsAnAppendedMessageWithoutAFiring() throws Exception {
        greenMail.setUser("idle@example.com", "idleuser", "idle-pw");
        writeCfg("io.uplink.connection-it-idle.cfg", "name = IT idle\nmethod = network\n");
        // an at item covers the whole of its days: the connection is due all day, and fires only at 03:00
        writeCfg("io.uplink.schedule-it-idle.cfg", "connections = it-idle\nat = 03:00\n");
        writeCfg("io.uplink.collector-it-idle.cfg", "connections = it-idle\nprotocol = imap\nhost = 127.0.0.1\nport = "
                + greenMail.getImap().getPort() + "\nsecurity = none\nusername = idleuser\npassword = idle-pw\n"
                + "deliverTo = it-idle\nidle = true\n");
        await().atMost(30, TimeUnit.SECONDS).until(() -> collectors("it-idle") == 1);
        // the session opens with one collection; from then on it idles
        await().atMost(30, TimeUnit.SECONDS).until(() -> lastResult("it-idle").startsWith("idle: "));

        Session s = Session.getInstance(new java.util.Properties());
        MimeMessage m = new MimeMessage(s);
        m.setFrom("bob@example.net");
        m.setSubject("live");
        m.setText("hello live");
        try (jakarta.mail.Store store = s.getStore("imap")) {
            store.connect("127.0.0.1", greenMail.getImap().getPort(), "idleuser", "idle-pw");
            store.getFolder("INBOX").appendMessages(new jakarta.mail.Message[] {m});
        }
        Path inbox = Path.of(System.getProperty("karaf.data"), "uplink", "mailboxes", "it-idle", "new");
        await().atMost(20, TimeUnit.SECONDS).until(() -> Files.isDirectory(inbox) && count(inbox) == 1);
        assertEquals("no firing", 0, connections.history("it-idle", 10).size());
        await().atMost(20, TimeUnit.SECONDS).until(() -> lastResult("it-idle").equals("idle: 1 collected"));
    }

    private String lastResult(String collector) {
        ServiceReference<io.uplink.api.mail.MailTaskService> ref =
                bundleContext.getServiceReference(io.uplink.api.mail.MailTaskService.class);
        if (ref == null) {
            return "";
        }
        return bundleContext.getService(ref).collectors().stream().filter(t -> t.id().equals(collector))
                .map(io.uplink.api.mail.MailTaskStatus::lastResult).findFirst().orElse("");
    }

    private int collectors(String connection) throws Exception {
        int n = 0;
        for (ServiceReference<MailCollector> ref : bundleContext.getServiceReferences(MailCollector.class, null)) {
            Object c = ref.getProperty(MailCollector.CONNECTIONS);
            if (c instanceof String[] a && java.util.Arrays.asList(a).contains(connection)
                    && Boolean.TRUE.equals(ref.getProperty(MailCollector.ENABLED))) {
                n++;
            }
        }
        return n;
    }

    private static long count(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.count();
        }
    }
}

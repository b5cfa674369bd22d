package io.uplink.itests;

import static org.awaitility.Awaitility.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.maven;
import static org.ops4j.pax.exam.CoreOptions.mavenBundle;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.editConfigurationFilePut;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.features;

import io.uplink.api.ConnectionService;
import io.uplink.api.ConnectionState;
import io.uplink.api.FiringResult;
import io.uplink.api.Outcome;
import io.uplink.api.Phase;
import io.uplink.api.PhaseResult;
import io.uplink.api.mail.MailCollector;
import io.uplink.api.mail.MailSender;
import io.uplink.api.mail.Outbox;
import io.uplink.api.mail.QueuedMessage;
import io.uplink.method.dialup.testing.PtyPair;
import io.uplink.method.dialup.testing.ScriptedModem;

import java.io.ByteArrayInputStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import javax.inject.Inject;

import jakarta.mail.Session;
import jakarta.mail.internet.MimeMessage;

import org.apache.karaf.features.FeaturesService;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;

import com.icegreen.greenmail.user.GreenMailUser;
import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;

/**
 * The uplink-dialup feature in the distribution: a dial-up connection fires against the scripted modem on a socat
 * pseudo-terminal (socat started here, the modem script running in this JVM inside the container) and sends the
 * outbox through a Mail Sender to a GreenMail in the container; a dead network connection falls back to the modem,
 * which sends and collects through the same sender and collector, and the shell shows it.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class DialupIT extends UplinkTestSupport {

    private static final String VERSION = System.getProperty("uplink.project.version");
    private static final String SENDER = "it-dial";
    private static final String COLLECTOR = "it-dial-pop";
    private static final String MAILBOX = "it-dial";

    @Inject
    protected Outbox outbox;

    private PtyPair pair;
    private ScriptedModem modem;
    private Path work;
    private GreenMail mail;

    @Override
    protected Option[] extraOptions() {
        return new Option[] {
            features(maven().groupId("io.uplink").artifactId("uplink-features").type("xml").classifier("features")
                    .version(VERSION), "uplink-dialup"),
            // the scripted modem, shared with the unit tests of the dialup bundle
            mavenBundle(maven().groupId("io.uplink").artifactId("uplink-method-dialup").classifier("tests")
                    .version(VERSION)),
            // the demo server queues a welcome message at its first start, whenever its component comes up: off,
            // so the outbox holds only what a test queues (and no fixed demo ports are bound)
            editConfigurationFilePut("etc/io.uplink.demo.cfg", "enabled", "false")
        };
    }

    @Before
    public void modem() throws Exception {
        work = Files.createTempDirectory(Path.of(System.getProperty("karaf.data")), "dialup-it");
        Files.createDirectories(work.resolve("lock"));
        pair = PtyPair.open(work.resolve("pty"));
        modem = ScriptedModem.serve(pair.modem());
        // the provider's servers: SMTP for the sender, POP3 for the collector
        mail = new GreenMail(new ServerSetup[] {new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_SMTP),
            new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_POP3)});
        mail.start();
    }

    @After
    public void close() throws Exception {
        for (String id : List.of("modem", "office")) {
            Files.deleteIfExists(etc().resolve("io.uplink.connection-" + id + ".cfg"));
            await().atMost(30, TimeUnit.SECONDS).until(() -> connections().status(id).isEmpty());
        }
        Files.deleteIfExists(etc().resolve("io.uplink.sender-" + SENDER + ".cfg"));
        Files.deleteIfExists(etc().resolve("io.uplink.collector-" + COLLECTOR + ".cfg"));
        // gone before the next test writes them again against its own GreenMail ports
        await().atMost(30, TimeUnit.SECONDS).until(() -> !registered(MailSender.class, MailSender.ID, SENDER)
                && !registered(MailCollector.class, MailCollector.ID, COLLECTOR));
        // a failed test must not hand its queued mail to the next one
        for (QueuedMessage q : outbox.list()) {
            outbox.delete(q.id());
        }
        mail.stop();
        modem.close();
        pair.close();
    }

    private String modemCfg(String number, String extra) {
        return "name = Backup modem\n"
                + "method = dialup\n"
                + "dialup.port = " + pair.line() + "\n"
                + "dialup.number = " + number + "\n"
                + "dialup.retries = 2\n"
                + "dialup.interval = 1s\n"
                + "dialup.guardTime = 200ms\n"
                + "dialup.lockDir = " + work.resolve("lock") + "\n"
                + extra;
    }

    private ConnectionService connections() {
        return getOsgiService(ConnectionService.class);
    }

    private boolean registered(Class<?> type, String key, String id) throws Exception {
        return bundleContext.getServiceReferences(type, "(" + key + "=" + id + ")").size() > 0;
    }

    /** The sender of both connections: GreenMail's SMTP, plain text on loopback. */
    private void writeSender() throws Exception {
        writeCfg("io.uplink.sender-" + SENDER + ".cfg", "hosts = 127.0.0.1:" + mail.getSmtp().getPort()
                + "\nsecurity = none\n");
    }

    /**
     * Until the connection is idle with the settings just written (not a previous test's), its sender (if any)
     * resolves, and exactly these collectors are linked to it.
     */
    private void awaitReady(String id, String key, String value, String... collectors) {
        await().atMost(30, TimeUnit.SECONDS).until(() -> connections().status(id)
                .map(s -> s.state() == ConnectionState.IDLE && value.equals(s.settings().get(key))
                        && s.problems().isEmpty() && s.collectors().equals(List.of(collectors)))
                .orElse(false));
    }

    private void awaitModem(String... collectors) {
        awaitReady("modem", "dialup.port", pair.line().toString(), collectors);
    }

    private QueuedMessage queue(String subject) throws Exception {
        String m = "From: Uplink IT <it@example.org>\r\nTo: bob@example.net\r\nSubject: " + subject + "\r\n\r\n"
                + "Queued before the modem dialled.\r\n";
        return outbox.queue(null, List.of(), new ByteArrayInputStream(m.getBytes(StandardCharsets.UTF_8)));
    }

    /** The subjects GreenMail's SMTP server received for bob. */
    private List<String> receivedSubjects() throws Exception {
        List<String> subjects = new ArrayList<>();
        for (MimeMessage m : mail.getReceivedMessagesForDomain("example.net")) {
            subjects.add(m.getSubject());
        }
        return subjects;
    }

    /** The line of a shell table or key: value output that contains {@code marker}, or a failure showing all. */
    private static String lineWith(String output, String marker) {
        return output.lines().filter(l -> l.contains(marker)).findFirst()
                .orElseThrow(() -> new AssertionError("no line with '" + marker + "' in:\n" + output));
    }

    private static PhaseResult phase(FiringResult r, Phase p) {
        return r.phases().stream().filter(x -> x.phase() == p).findFirst().orElse(null);
    }

    @Test
    public void featureShipsTheMethodAndJSerialCommOnce() throws Exception {
        FeaturesService fs = getOsgiService(FeaturesService.class);
        assertTrue(fs.isInstalled(fs.getFeature("uplink-dialup")));
        for (String name : new String[] {"io.uplink.method.dialup", "com.fazecast.jSerialComm"}) {
            Bundle b = findBundleByName(name);
            assertNotNull(name, b);
            assertEquals(name + " active", Bundle.ACTIVE, b.getState());
        }
        assertTrue(connections().methods().stream().anyMatch(m -> m.name().equals("dialup")));
        assertEquals("true", System.getProperty("jSerialComm.library.randomizeNativeName"));
        assertEquals("uplink", System.getProperty("fazecast.jSerialComm.appid"));
        assertEquals("true", configurationAdmin.getConfiguration("io.uplink.method.dialup", null).getProperties()
                .get("jSerialComm.library.randomizeNativeName"));
    }

    @Test
    public void dialupConnectionRedialsSendsTheOutboxAndHangsUp() throws Exception {
        String number = ScriptedModem.busyThenConnect(1);
        writeSender();
        writeCfg("io.uplink.connection-modem.cfg", modemCfg(number, "sender = " + SENDER + "\n"));
        awaitModem();
        assertEquals(0, outbox.size());
        QueuedMessage q = queue("over the modem");
        FiringResult r = connections().fire("modem", "test").await(Duration.ofSeconds(60));
        PhaseResult connect = phase(r, Phase.CONNECT);
        assertNotNull(r.toString(), connect);
        assertTrue(r.toString(), connect.ok());
        assertTrue(connect.message(), connect.message().startsWith("CONNECT 33600 on " + pair.line()));
        // the redial is kept in the record, not only in the live status
        assertTrue(connect.message(), connect.message().contains("attempt 1/3: BUSY"));
        assertEquals(2, modem.dials(number));
        assertEquals(r.toString(), Outcome.OK, r.outcome());
        assertEquals(r.toString(), 1, r.counts().sent());
        assertTrue(r.toString(), phase(r, Phase.SEND).ok());
        assertEquals(List.of("over the modem"), receivedSubjects());
        assertEquals("sent, so no longer queued", 0, outbox.size());
        assertTrue(outbox.get(q.id()).isEmpty());
        await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> !modem.isOffHook());
        assertEquals("+++ escape on hang-up", 1, modem.escapes());
        assertEquals(1, modem.hangups());
        assertFalse("UUCP lock removed", Files.exists(work.resolve("lock/LCK..line")));
        assertEquals(r.firingId(), connections().history("modem", 1).get(0).firingId());
    }

    @Test
    public void busyLineFailsWithEveryAttemptInTheHistory() throws Exception {
        writeCfg("io.uplink.connection-modem.cfg", modemCfg(ScriptedModem.BUSY, ""));
        awaitModem();
        FiringResult r = connections().fire("modem", "test").await(Duration.ofSeconds(60));
        assertEquals(Outcome.FAILED, r.outcome());
        assertEquals(3, modem.dials(ScriptedModem.BUSY));
        assertTrue(r.errors().toString(), r.errors().stream().anyMatch(e -> e.contains("failed after 3 attempts: BUSY, BUSY, BUSY")));
        assertFalse(modem.isOffHook());

        // the attempts, as a person sees them (the history table wraps long summaries: the status line does not)
        String status = executeCommand("connection:status modem");
        String last = lineWith(status, "lastResult:");
        assertTrue(last, last.startsWith("lastResult: FAILED "));
        assertTrue(last, last.contains("failed after 3 attempts: BUSY, BUSY, BUSY"));
        assertTrue(last, last.endsWith("(firing " + r.firingId() + ")"));
        String row = lineWith(executeCommand("connection:history modem"), r.firingId());
        assertTrue(row, row.contains("modem") && row.contains("test") && row.contains("FAILED"));
    }

    @Test
    public void deadNetworkFallsBackToTheModemWhichSendsAndCollects() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        GreenMailUser account = mail.setUser("dial@example.com", "dialuser", "dial-pw");
        MimeMessage waiting = new MimeMessage(Session.getInstance(new Properties()));
        waiting.setFrom("carol@example.com");
        waiting.setSubject("waiting at the provider");
        waiting.setText("collected over the modem");
        account.deliver(waiting);

        writeSender();
        writeCfg("io.uplink.collector-" + COLLECTOR + ".cfg", "connections = office, modem\nprotocol = pop3\n"
                + "host = 127.0.0.1\nport = " + mail.getPop3().getPort() + "\nsecurity = none\n"
                + "username = dialuser\npassword = dial-pw\ndeliverTo = " + MAILBOX + "\n");
        writeCfg("io.uplink.connection-modem.cfg", modemCfg(ScriptedModem.CONNECTS, "sender = " + SENDER + "\n"));
        writeCfg("io.uplink.connection-office.cfg", "name = Office router\nmethod = network\n"
                + "network.probe = 127.0.0.1:" + closed + "\nnetwork.probe.timeout = 2s\nfallback = modem\n"
                + "sender = " + SENDER + "\n");
        awaitModem(COLLECTOR);
        awaitReady("office", "network.probe", "127.0.0.1:" + closed, COLLECTOR);
        assertEquals(0, outbox.size());
        queue("after the fallback");

        // the office's firing completes with its fallback's
        FiringResult r = connections().fire("office", "test").await(Duration.ofSeconds(60));
        assertEquals(Outcome.FAILED, r.outcome());
        assertTrue(r.errors().toString(), r.errors().get(0).contains("network probe 127.0.0.1:" + closed + " failed"));
        FiringResult fb = r.fallback();
        assertNotNull(r.toString(), fb);
        assertEquals("modem", fb.connectionId());
        assertEquals("fallback:office", fb.cause());
        assertTrue(fb.toString(), phase(fb, Phase.CONNECT).ok());
        assertEquals(fb.toString(), Outcome.OK, fb.outcome());
        assertEquals(fb.toString(), 1, fb.counts().sent());
        assertEquals(fb.toString(), 1, fb.counts().collected());
        assertEquals(fb.firingId(), connections().history("modem", 1).get(0).firingId());
        assertEquals(1, modem.dials(ScriptedModem.CONNECTS));
        await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> !modem.isOffHook());

        // sent through the shared sender ...
        assertEquals(List.of("after the fallback"), receivedSubjects());
        assertEquals(0, outbox.size());
        // ... and collected through the shared collector: in the Maildir, then deleted on the server
        Path inbox = Path.of(System.getProperty("karaf.data"), "uplink", "mailboxes", MAILBOX, "new");
        List<Path> files;
        try (Stream<Path> list = Files.list(inbox)) {
            files = list.toList();
        }
        assertEquals(files.toString(), 1, files.size());
        assertTrue(Files.readString(files.get(0), StandardCharsets.UTF_8).contains("Subject: waiting at the provider"));
        assertEquals(0, mail.getManagers().getImapHostManager().getInbox(account).getMessageCount());

        // what a person sees: the dead office connection, its fallback, and the modem's firing
        String office = executeCommand("connection:status office");
        assertEquals(office, "fallback: modem", lineWith(office, "fallback:"));
        String officeLast = lineWith(office, "lastResult:");
        assertTrue(officeLast, officeLast.startsWith("lastResult: FAILED "));
        assertTrue(officeLast, officeLast.contains("network probe 127.0.0.1:" + closed + " failed"));
        assertTrue(officeLast, officeLast.contains("fell back to 'modem' (firing " + r.firingId() + ")"));
        String modemStatus = executeCommand("connection:status modem");
        String modemLast = lineWith(modemStatus, "lastResult:");
        assertTrue(modemLast, modemLast.startsWith("lastResult: OK "));
        assertTrue(modemLast, modemLast.endsWith("sent 1, collected 1 (firing " + fb.firingId() + ")"));
        assertEquals(modemStatus, "sender: " + SENDER, lineWith(modemStatus, "sender:"));
        assertEquals(modemStatus, "collectors: " + COLLECTOR, lineWith(modemStatus, "collectors:"));
        assertEquals(modemStatus, "outbox: 0", lineWith(modemStatus, "outbox:"));
        String history = executeCommand("connection:history");
        String modemRow = lineWith(history, fb.firingId());
        assertTrue(modemRow, modemRow.contains("modem") && modemRow.contains("fallback:office")
                && modemRow.contains("OK") && modemRow.contains("sent 1, collected 1"));
        String officeRow = lineWith(history, r.firingId());
        assertTrue(officeRow, officeRow.contains("office") && officeRow.contains("test") && officeRow.contains("FAILED"));
        assertTrue(history, history.indexOf(fb.firingId()) < history.indexOf(r.firingId()));
    }
}

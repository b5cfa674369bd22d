package io.uplink.mail.internal.collect;

import static io.uplink.mail.internal.collect.Fixture.message;
import static io.uplink.mail.internal.collect.Fixture.mime;
import static io.uplink.mail.internal.collect.Fixture.newFiles;
import static io.uplink.mail.internal.collect.Fixture.subjects;
import static org.awaitility.Awaitility.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import com.icegreen.greenmail.user.GreenMailUser;
import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;

import io.uplink.api.ConnectionState;
import io.uplink.api.ConnectionStatus;
import io.uplink.api.config.ConfigException;
import io.uplink.api.schedule.ForecastEntry;
import io.uplink.api.schedule.ScheduleItemStatus;
import io.uplink.api.schedule.ScheduleService;
import io.uplink.testsupport.FakeConnections;
import jakarta.mail.Folder;
import jakarta.mail.Message;
import jakarta.mail.Session;
import jakarta.mail.Store;

/**
 * Live delivery (IMAP IDLE, {@code idle = true}) against a real IMAP server (GreenMail), through a proxy that
 * counts the IDLE sessions and can drop them: mail appended over IMAP is collected without a firing, a dropped
 * session comes back, there is never more than one IDLE session per collector, and idling stops when it should.
 */
public class IdleTest {

    private static final Duration WAIT = Duration.ofSeconds(20);

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private GreenMail greenMail;
    private GreenMailUser alice;
    private IdleProxy proxy;
    private Path data;
    private final FakeConnections connections = new FakeConnections().add("office");
    private final Schedule schedule = new Schedule();
    private final List<MailCollectorComponent> components = new ArrayList<>();

    /** The schedule's answer to "is this connection due?", switched by the test. */
    static final class Schedule implements ScheduleService {
        volatile boolean due = true;
        volatile boolean paused;

        @Override
        public List<ScheduleItemStatus> items() {
            return List.of();
        }

        @Override
        public void pause() {
            paused = true;
        }

        @Override
        public void resume() {
            paused = false;
        }

        @Override
        public boolean isPaused() {
            return paused;
        }

        @Override
        public List<ForecastEntry> next(int count) {
            return List.of();
        }

        @Override
        public Optional<Instant> nextFiring(String connectionId) {
            return Optional.empty();
        }

        @Override
        public boolean due(String connectionId) {
            return due && !paused;
        }
    }

    @Before
    public void start() throws Exception {
        greenMail = new GreenMail(new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_IMAP));
        greenMail.start();
        alice = greenMail.setUser("alice@example.com", "alice", "s3cret-pw");
        proxy = new IdleProxy(greenMail.getImap().getPort());
        data = tmp.getRoot().toPath();
    }

    @After
    public void stop() throws Exception {
        for (MailCollectorComponent c : components) {
            c.deactivate();
        }
        proxy.close();
        greenMail.stop();
    }

    private Map<String, Object> imap(String... extra) {
        return imap(proxy.port(), extra);
    }

    /** Collector alice over IMAP with idle on, at {@code port} of this host. */
    static Map<String, Object> imap(int port, String... extra) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("service.pid", "io.uplink.collector~alice");
        m.put("felix.fileinstall.filename", "file:/opt/uplink/etc/io.uplink.collector-alice.cfg");
        String[] base = {"connections", "office", "protocol", "imap", "host", "127.0.0.1",
            "port", String.valueOf(port), "security", "none", "username", "alice",
            "password", "s3cret-pw", "deliverTo", "alice", "idle", "true"};
        for (int i = 0; i < base.length; i += 2) {
            m.put(base[i], base[i + 1]);
        }
        for (int i = 0; i < extra.length; i += 2) {
            m.put(extra[i], extra[i + 1]);
        }
        return m;
    }

    private MailCollectorComponent collector(Map<String, Object> properties) {
        MailCollectorComponent c = new MailCollectorComponent(data, connections, schedule, Duration.ofMillis(200),
                properties);
        components.add(c);
        return c;
    }

    /** Appends a message over IMAP, as another client or the provider's delivery would. */
    private void append(String subject) throws Exception {
        append(greenMail, subject);
    }

    /** Appends a message to alice's INBOX on {@code greenMail} over IMAP. */
    static void append(GreenMail greenMail, String subject) throws Exception {
        Session session = Session.getInstance(new Properties());
        try (Store store = session.getStore("imap")) {
            store.connect("127.0.0.1", greenMail.getImap().getPort(), "alice", "s3cret-pw");
            Folder inbox = store.getFolder("INBOX");
            inbox.appendMessages(new Message[] {mime(message("bob@example.net", "alice@example.com", subject,
                    "Hello " + subject))});
        }
    }

    private Path mailbox() {
        return data.resolve("mailboxes").resolve("alice");
    }

    private int inMailbox() throws Exception {
        return java.nio.file.Files.isDirectory(mailbox().resolve("new")) ? newFiles(mailbox()).size() : 0;
    }

    private int onServer() throws Exception {
        return greenMail.getManagers().getImapHostManager().getInbox(alice).getMessageCount();
    }

    private static void awaitIdling(IdleSession s) {
        await().atMost(20, TimeUnit.SECONDS).until(() -> s.state().startsWith("idling"));
    }

    @Test
    public void messageAppendedOverImapIsCollectedWithoutAFiring() throws Exception {
        MailCollectorComponent c = collector(imap());
        IdleSession s = c.idleSession();
        awaitIdling(s);
        assertEquals(1, proxy.idling.get());
        // the IDLE session (which asks for the IDLE capability on its own connection) and the collection of what
        // arrived before it: no other connection, such as one Angus would open for a store-level question
        assertEquals("connections opened", 2, proxy.connections.get());

        append("live 1");
        await().atMost(20, TimeUnit.SECONDS).until(() -> inMailbox() == 1 && onServer() == 0);
        assertEquals(List.of("live 1"), subjects(mailbox()));
        assertTrue("no firing was asked for", connections.fired.isEmpty());
        await().atMost(20, TimeUnit.SECONDS).until(() -> c.status().lastResult().equals("idle: 1 collected"));

        // more, one after the other: each exactly once, through the same ledger as a firing
        awaitIdling(s);
        for (int i = 2; i <= 4; i++) {
            append("live " + i);
        }
        await().atMost(20, TimeUnit.SECONDS).until(() -> inMailbox() == 4 && onServer() == 0);
        awaitIdling(s);
        assertEquals(4, inMailbox());
        assertEquals(List.of("live 1", "live 2", "live 3", "live 4"), subjects(mailbox()).stream().sorted().toList());
        assertEquals("one IDLE session all along", 1, s.sessionsOpened());
    }

    /**
     * Firings and idle collections of one collector take turns (one lock per collector): with mail arriving
     * while both run, every message lands exactly once.
     */
    @Test
    public void idleCollectionsAndFiringsNeverOverlap() throws Exception {
        MailCollectorComponent c = collector(imap());
        awaitIdling(c.idleSession());
        Thread appender = new Thread(() -> {
            try {
                for (int i = 0; i < 20; i++) {
                    append("both " + i);
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        appender.start();
        Fixture.Context firing = new Fixture.Context();
        for (int i = 0; i < 10; i++) {
            c.collect(firing); // a firing's COLLECT phase, while IDLE collects too
        }
        appender.join();
        await().atMost(20, TimeUnit.SECONDS).until(() -> inMailbox() == 20 && onServer() == 0);
        c.collect(firing);
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            expected.add("both " + i);
        }
        assertEquals(expected.stream().sorted().toList(), subjects(mailbox()).stream().sorted().toList());
    }

    @Test
    public void droppedSessionIsEstablishedAgain() throws Exception {
        MailCollectorComponent c = collector(imap());
        IdleSession s = c.idleSession();
        awaitIdling(s);
        assertEquals(1, s.sessionsOpened());

        proxy.close(); // the server is gone for now: the collector says so and keeps trying
        await().atMost(20, TimeUnit.SECONDS).until(() -> c.status().warnings().stream()
                .anyMatch(w -> w.startsWith("idle: reconnecting in ")));
        proxy = new IdleProxy(greenMail.getImap().getPort(), proxy.port());
        await().atMost(20, TimeUnit.SECONDS).until(() -> s.sessionsOpened() == 2 && s.state().startsWith("idling"));
        assertTrue(c.status().warnings().isEmpty());
        append("after the drop");
        await().atMost(20, TimeUnit.SECONDS).until(() -> inMailbox() == 1 && onServer() == 0);

        proxy.cutAll();
        await().atMost(20, TimeUnit.SECONDS).until(() -> s.sessionsOpened() == 3 && s.state().startsWith("idling"));
        assertEquals(1, proxy.idling.get());
    }

    @Test
    public void neverMoreThanOneIdleSessionPerCollector() throws Exception {
        // a short renew, so IDLE is ended and issued again many times meanwhile
        MailCollectorComponent first = collector(imap("idle.renew", "1s"));
        awaitIdling(first.idleSession());
        int renewedFrom = proxy.idleCommands.get();
        await().atMost(20, TimeUnit.SECONDS).until(() -> proxy.idleCommands.get() >= renewedFrom + 3);
        assertEquals("re-IDLE on the same connection", 1, first.idleSession().sessionsOpened());

        // configuration updates restart the session
        for (int i = 0; i < 3; i++) {
            first.modified(imap("idle.renew", "1s", "priority", String.valueOf(50 + i)));
        }
        awaitIdling(first.idleSession());
        // a second component for the same collector (a restart whose old instance has not gone yet)
        MailCollectorComponent second = collector(imap("idle.renew", "1s"));
        awaitIdling(second.idleSession());
        await().atMost(20, TimeUnit.SECONDS).until(() -> !first.idleSession().state().startsWith("idling"));
        int now = proxy.idleCommands.get();
        await().atMost(20, TimeUnit.SECONDS).until(() -> proxy.idleCommands.get() >= now + 2);

        assertEquals("never two at once", 1, proxy.mostIdlingAtOnce.get());
        assertEquals(1, proxy.idling.get());
        append("still live");
        await().atMost(20, TimeUnit.SECONDS).until(() -> inMailbox() == 1);
    }

    @Test
    public void idlingStopsWhenSwitchedOffRemovedOrNotDue() throws Exception {
        MailCollectorComponent c = collector(imap());
        awaitIdling(c.idleSession());

        c.modified(imap("idle", "false"));
        assertEquals(null, c.idleSession());
        await().atMost(20, TimeUnit.SECONDS).until(() -> proxy.idling.get() == 0);

        c.modified(imap());
        IdleSession s = c.idleSession();
        awaitIdling(s);
        schedule.due = false;
        await().atMost(20, TimeUnit.SECONDS).until(() -> proxy.idling.get() == 0 && s.state().startsWith("not idling"));
        append("waits for the schedule");
        assertEquals(0, inMailbox());
        schedule.due = true;
        await().atMost(20, TimeUnit.SECONDS).until(() -> inMailbox() == 1 && s.state().startsWith("idling"));

        schedule.pause();
        await().atMost(20, TimeUnit.SECONDS).until(() -> proxy.idling.get() == 0 && s.state().contains("paused"));
        schedule.resume();
        awaitIdling(s);

        // a dial-up connection never idles
        ConnectionStatus office = connections.statuses.get("office");
        connections.statuses.put("office", new ConnectionStatus(office.id(), office.name(), "dialup", false, 0,
                ConnectionState.IDLE, "", office.file(), "", List.of(), "", null, null, List.of(), Map.of()));
        await().atMost(20, TimeUnit.SECONDS).until(() -> proxy.idling.get() == 0 && s.state().contains("only network connections idle"));
        connections.statuses.put("office", office);
        awaitIdling(s);
        connections.state("office", ConnectionState.ERROR);
        await().atMost(20, TimeUnit.SECONDS).until(() -> proxy.idling.get() == 0 && s.state().contains("ERROR"));
        connections.state("office", ConnectionState.IDLE);
        awaitIdling(s);

        // the collector removed
        c.deactivate();
        components.remove(c);
        assertTrue(s.awaitEnd(WAIT));
        // the session's socket is closed; the proxy counts it gone once its pump has read the close
        await().atMost(20, TimeUnit.SECONDS).until(() -> proxy.idling.get() == 0);
    }

    @Test
    public void idleOnPop3IsAClearConfigurationError() {
        Map<String, Object> p = imap("protocol", "pop3");
        MailCollectorComponent c = collector(p);
        assertEquals(null, c.idleSession());
        assertEquals("collector 'alice' (io.uplink.collector-alice.cfg), key 'idle': live delivery needs IMAP IDLE; a "
                + "POP3 collector cannot idle: remove the key or use protocol = imap", c.problem().orElse(""));
        try {
            CollectorSettings.of(Fixture.settings("alice", "connections", "office", "protocol", "imap", "host", "h",
                    "username", "u", "password", "p", "deliverTo", "alice", "idle.renew", "30m"));
            throw new AssertionError("accepted idle.renew = 30m");
        } catch (ConfigException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("key 'idle.renew': must be between 1s and 29m"));
        }
    }

    static {
        // the waits above poll quickly: the conditions are cheap
        org.awaitility.Awaitility.setDefaultPollInterval(50, TimeUnit.MILLISECONDS);
        // GreenMail's handler threads throw when the proxy cuts a session; that is the point, not a failure
        org.awaitility.Awaitility.doNotCatchUncaughtExceptionsByDefault();
    }
}

package io.uplink.mail.internal.notice;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import io.uplink.api.Events;
import io.uplink.api.mail.LocalMailboxes;
import io.uplink.api.mail.QueuedMessage;
import io.uplink.testsupport.MovableClock;
import io.uplink.mail.internal.outbox.FileOutbox;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.osgi.service.event.Event;
import org.osgi.service.event.EventAdmin;

/** Error notices through the mail bundle's real outbox, throttled on a clock the test moves. */
public class NoticesTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private final MovableClock clock = new MovableClock(Instant.parse("2026-03-01T08:00:00Z"));
    private final Map<String, List<String>> delivered = new HashMap<>();
    private volatile boolean mailBundle = true;
    private final LocalMailboxes mailboxes = new LocalMailboxes() {
        @Override
        public String postmaster() {
            return "postmaster";
        }

        @Override
        public void deliver(String mailbox, InputStream message) throws IOException {
            delivered.computeIfAbsent(mailbox, k -> new ArrayList<>())
                    .add(new String(message.readAllBytes(), StandardCharsets.UTF_8));
        }
    };
    private FileOutbox outbox;
    private Notices notices;
    private final List<Notices.Sent> sent = new ArrayList<>();

    /** A queued notice: envelope and text. */
    record Queued(String from, List<String> to, String text) {
    }

    @Before
    public void setUp() throws Exception {
        Path d = tmp.getRoot().toPath();
        outbox = new FileOutbox(d.resolve("outbox"), d.resolve("mailboxes/postmaster"), Clock.systemUTC(),
                FileOutbox.Retry.DEFAULT);
        notices = new Notices(clock, () -> outbox, () -> mailBundle ? mailboxes : null);
        notices.configure(List.of("admin@example.net"), "uplink@office.example", Duration.ofHours(1));
    }

    private static Map<String, Object> failure(String id, String phase, String error, String firing) {
        Map<String, Object> p = new HashMap<>();
        p.put(Events.CONNECTION_ID, id);
        p.put(Events.CONNECTION_NAME, "Office router");
        p.put(Events.FIRING_ID, firing);
        p.put(Events.CAUSE, "schedule:work");
        p.put(Events.OUTCOME, "FAILED");
        p.put(Events.PHASE, phase);
        p.put(Events.ERROR, error);
        p.put(Events.MESSAGE, "could not connect");
        return p;
    }

    private void failed(String id, String phase, String error) {
        sent.add(notices.failed(failure(id, phase, error, "f" + clock.instant().getEpochSecond())));
    }

    private void ok(String id) {
        notices.succeeded(id);
    }

    /** The queued notices, oldest first. */
    private List<Queued> queued() throws IOException {
        List<Queued> out = new ArrayList<>();
        List<QueuedMessage> all = new ArrayList<>(outbox.list());
        all.sort(Comparator.comparing(QueuedMessage::queued).thenComparing(QueuedMessage::id));
        for (QueuedMessage m : all) {
            try (InputStream in = outbox.open(m.id())) {
                out.add(new Queued(m.from(), m.pending(), new String(in.readAllBytes(), StandardCharsets.UTF_8)));
            }
        }
        return out;
    }

    @Test
    public void aNoticeNamesConnectionPhaseAndError() throws Exception {
        failed("office", "CONNECT", "probe 192.0.2.1:25: connection refused");
        assertEquals(1, queued().size());
        Queued q = queued().get(0);
        assertEquals("uplink@office.example", q.from());
        assertEquals(List.of("admin@example.net"), q.to());
        assertTrue(q.text(), q.text().contains("Subject: Uplink: connection Office router ('office') FAILED in CONNECT\r\n"));
        assertTrue(q.text().contains("Phase:      CONNECT\r\n"));
        assertTrue(q.text().contains("Error:      probe 192.0.2.1:25: connection refused\r\n"));
        assertTrue(q.text().contains("Content-Type: text/plain; charset=UTF-8\r\n"));
        assertTrue(q.text().contains("fired by schedule:work"));
    }

    @Test
    public void identicalErrorsAreThrottledUntilRepeatThenCarryTheCount() throws Exception {
        failed("office", "CONNECT", "refused");
        clock.advance(Duration.ofMinutes(15));
        failed("office", "CONNECT", "refused");
        clock.advance(Duration.ofMinutes(30));
        failed("office", "CONNECT", "refused");
        assertEquals("first at once, the next two held back", 1, queued().size());
        clock.advance(Duration.ofMinutes(15));  // one hour after the first notice
        failed("office", "CONNECT", "refused");
        assertEquals(2, queued().size());
        assertTrue(queued().get(1).text().contains("2 identical notice(s) were held back"));
        clock.advance(Duration.ofMinutes(59));
        failed("office", "CONNECT", "refused");
        assertEquals(2, queued().size());
    }

    @Test
    public void aDifferentErrorOrAnotherConnectionGoesOutAtOnce() throws Exception {
        failed("office", "CONNECT", "refused");
        failed("office", "SEND", "550 relay denied");
        failed("modem", "CONNECT", "refused");
        assertEquals(3, queued().size());
        failed("office", "SEND", "550 relay denied");
        assertEquals(3, queued().size());
    }

    @Test
    public void aSuccessResetsTheThrottle() throws Exception {
        failed("office", "CONNECT", "refused");
        clock.advance(Duration.ofMinutes(5));
        ok("office");
        failed("office", "CONNECT", "refused");
        assertEquals(2, queued().size());
    }

    @Test
    public void aShorterRepeatTakesEffect() throws Exception {
        notices.configure(List.of("a@example.net", "b@example.net"), "uplink@localhost", Duration.ofMinutes(10));
        failed("office", "CONNECT", "refused");
        clock.advance(Duration.ofMinutes(10));
        failed("office", "CONNECT", "refused");
        assertEquals(2, queued().size());
        assertEquals(List.of("a@example.net", "b@example.net"), queued().get(1).to());
    }

    @Test
    public void noAddressDeliversToTheLocalPostmasterThrottledAlike() throws Exception {
        notices.configure(List.of(), "uplink@localhost", Duration.ofHours(1));
        failed("office", "CONNECT", "refused");
        failed("office", "CONNECT", "refused");
        assertTrue(queued().isEmpty());
        assertEquals(1, delivered.get("postmaster").size());
        String mail = delivered.get("postmaster").get(0);
        assertTrue(mail, mail.contains("To: postmaster@localhost\r\n"));
        assertTrue(mail, mail.contains("Error:      refused"));
        assertEquals("notice delivered to the local mailbox 'postmaster'", sent.get(0).text());
    }

    @Test
    public void withoutAddressAndWithoutTheMailboxesNothingIsSent() throws Exception {
        mailBundle = false;
        notices.configure(List.of(), "uplink@localhost", Duration.ofHours(1));
        failed("office", "CONNECT", "refused");
        assertTrue(queued().isEmpty());
        assertTrue(delivered.isEmpty());
        assertNull(sent.get(0));
    }

    @Test
    public void heldBackNoticesSayWhy() throws Exception {
        failed("office", "CONNECT", "refused");
        failed("office", "CONNECT", "refused");
        assertTrue(sent.get(0).queued());
        assertEquals("notice queued to admin@example.net", sent.get(0).text());
        assertFalse(sent.get(1).queued());
        assertTrue(sent.get(1).text(), sent.get(1).text().contains("held back"));
    }

    /** The component: a FAILED event becomes a queued notice and a NOTICE event; an OK firing resets the throttle. */
    @Test
    public void theComponentTurnsAFailedEventIntoANoticeAndANoticeEvent() throws Exception {
        List<Event> posted = new ArrayList<>();
        NoticeComponent c = new NoticeComponent();
        inject(c, "outbox", outbox);
        inject(c, "events", new EventAdmin() {
            @Override
            public void postEvent(Event event) {
                posted.add(event);
            }

            @Override
            public void sendEvent(Event event) {
                posted.add(event);
            }
        });
        c.configure(Map.of("notify.to", "ops@example.net", "notify.from", "gw@example.net"));

        c.handleEvent(new Event(Events.FAILED, failure("office", "CONNECT", "refused", "f1")));
        c.handleEvent(new Event(Events.FAILED, failure("office", "CONNECT", "refused", "f2")));
        c.handleEvent(new Event(Events.DISCONNECTED, Map.of(Events.CONNECTION_ID, "office", Events.OUTCOME, "OK")));
        c.handleEvent(new Event(Events.FAILED, failure("office", "CONNECT", "refused", "f3")));

        List<Queued> q = queued();
        assertEquals("first, then held back, then again after the success", 2, q.size());
        assertEquals("gw@example.net", q.get(0).from());
        assertEquals(List.of("ops@example.net"), q.get(0).to());
        assertEquals(3, posted.size());
        Event first = posted.get(0);
        assertEquals(Events.NOTICE, first.getTopic());
        assertEquals("office", first.getProperty(Events.CONNECTION_ID));
        assertEquals("f1", first.getProperty(Events.FIRING_ID));
        assertEquals(Boolean.TRUE, first.getProperty(Events.NOTICE_SENT));
        assertEquals("notice queued to ops@example.net", first.getProperty(Events.MESSAGE));
        assertEquals(Boolean.FALSE, posted.get(1).getProperty(Events.NOTICE_SENT));
    }

    private static void inject(Object target, String field, Object value) throws ReflectiveOperationException {
        var f = target.getClass().getDeclaredField(field);
        f.setAccessible(true);
        f.set(target, value);
    }

    @Test
    public void nonAsciiNamesAreEncodedInTheSubject() throws Exception {
        assertEquals("=?UTF-8?B?QsO8cm8=?=", Notices.header("Büro"));
        assertEquals("Office", Notices.header("Office"));
    }
}

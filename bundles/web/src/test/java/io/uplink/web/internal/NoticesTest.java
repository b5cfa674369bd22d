package io.uplink.web.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import io.uplink.api.Events;
import io.uplink.api.mail.LocalMailboxes;
import io.uplink.api.mail.QueuedMessage;
import io.uplink.testsupport.MemoryOutbox;
import io.uplink.testsupport.MovableClock;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** Error notices through the outbox, throttled on a clock the test moves. */
public class NoticesTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private final MovableClock clock = new MovableClock(Instant.parse("2026-03-01T08:00:00Z"));
    private final MemoryOutbox outbox = new MemoryOutbox();
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
    private Notices notices;
    private Activity activity;
    private Path logDir;

    @Before
    public void setUp() throws Exception {
        notices = new Notices(clock, () -> outbox, () -> mailBundle ? mailboxes : null);
        notices.configure(List.of("admin@example.net"), "uplink@office.example", Duration.ofHours(1));
        logDir = tmp.newFolder("log").toPath();
        activity = new Activity(clock, new ActivityLog(logDir, 1 << 20, 3), notices);
    }

    private void failed(String id, String phase, String error) {
        Map<String, Object> p = new HashMap<>();
        p.put(Events.CONNECTION_ID, id);
        p.put(Events.CONNECTION_NAME, "Office router");
        p.put(Events.FIRING_ID, "f" + clock.instant().getEpochSecond());
        p.put(Events.CAUSE, "schedule:work");
        p.put(Events.OUTCOME, "FAILED");
        p.put(Events.PHASE, phase);
        p.put(Events.ERROR, error);
        p.put(Events.MESSAGE, "could not connect");
        activity.onEvent(Events.FAILED, p);
    }

    private void ok(String id) {
        activity.onEvent(Events.DISCONNECTED, Map.of(Events.CONNECTION_ID, id, Events.OUTCOME, "OK"));
    }

    @Test
    public void aNoticeNamesConnectionPhaseAndError() {
        failed("office", "CONNECT", "probe 192.0.2.1:25: connection refused");
        assertEquals(1, outbox.size());
        QueuedMessage q = outbox.list().get(0);
        String text = outbox.text(q.id());
        assertEquals("uplink@office.example", q.from());
        assertEquals(List.of("admin@example.net"), q.pending());
        assertTrue(text, text.contains("Subject: Uplink: connection Office router ('office') FAILED in CONNECT\r\n"));
        assertTrue(text.contains("Phase:      CONNECT\r\n"));
        assertTrue(text.contains("Error:      probe 192.0.2.1:25: connection refused\r\n"));
        assertTrue(text.contains("Content-Type: text/plain; charset=UTF-8\r\n"));
        assertTrue(text.contains("fired by schedule:work"));
    }

    @Test
    public void identicalErrorsAreThrottledUntilRepeatThenCarryTheCount() {
        failed("office", "CONNECT", "refused");
        clock.advance(Duration.ofMinutes(15));
        failed("office", "CONNECT", "refused");
        clock.advance(Duration.ofMinutes(30));
        failed("office", "CONNECT", "refused");
        assertEquals("first at once, the next two held back", 1, outbox.size());
        clock.advance(Duration.ofMinutes(15));  // one hour after the first notice
        failed("office", "CONNECT", "refused");
        assertEquals(2, outbox.size());
        assertTrue(outbox.text(outbox.list().get(1).id()).contains("2 identical notice(s) were held back"));
        clock.advance(Duration.ofMinutes(59));
        failed("office", "CONNECT", "refused");
        assertEquals(2, outbox.size());
    }

    @Test
    public void aDifferentErrorOrAnotherConnectionGoesOutAtOnce() {
        failed("office", "CONNECT", "refused");
        failed("office", "SEND", "550 relay denied");
        failed("modem", "CONNECT", "refused");
        assertEquals(3, outbox.size());
        failed("office", "SEND", "550 relay denied");
        assertEquals(3, outbox.size());
    }

    @Test
    public void aSuccessResetsTheThrottle() {
        failed("office", "CONNECT", "refused");
        clock.advance(Duration.ofMinutes(5));
        ok("office");
        failed("office", "CONNECT", "refused");
        assertEquals(2, outbox.size());
    }

    @Test
    public void aShorterRepeatTakesEffect() {
        notices.configure(List.of("a@example.net", "b@example.net"), "uplink@localhost", Duration.ofMinutes(10));
        failed("office", "CONNECT", "refused");
        clock.advance(Duration.ofMinutes(10));
        failed("office", "CONNECT", "refused");
        assertEquals(2, outbox.size());
        assertEquals(List.of("a@example.net", "b@example.net"), outbox.list().get(1).pending());
    }

    @Test
    public void noAddressDeliversToTheLocalPostmasterThrottledAlike() throws Exception {
        notices.configure(List.of(), "uplink@localhost", Duration.ofHours(1));
        failed("office", "CONNECT", "refused");
        failed("office", "CONNECT", "refused");
        assertEquals(0, outbox.size());
        assertEquals(1, delivered.get("postmaster").size());
        String mail = delivered.get("postmaster").get(0);
        assertTrue(mail, mail.contains("To: postmaster@localhost\r\n"));
        assertTrue(mail, mail.contains("Error:      refused"));
        String log = Files.readString(logDir.resolve("office.log"));
        assertTrue(log, log.contains("notice delivered to the local mailbox 'postmaster'"));
    }

    @Test
    public void withoutAddressAndWithoutTheMailBundleTheLogStillHasTheError() throws Exception {
        mailBundle = false;
        notices.configure(List.of(), "uplink@localhost", Duration.ofHours(1));
        failed("office", "CONNECT", "refused");
        assertEquals(0, outbox.size());
        assertTrue(delivered.isEmpty());
        String log = Files.readString(logDir.resolve("office.log"));
        assertTrue(log, log.contains("FAILED [f"));
        assertTrue(log, log.contains("FAILED in CONNECT: refused"));
    }

    @Test
    public void heldBackNoticesAreInTheActivityLog() throws Exception {
        failed("office", "CONNECT", "refused");
        failed("office", "CONNECT", "refused");
        List<String> lines = activity.log().tail("office", 10);
        assertTrue(lines.get(1), lines.get(1).contains("NOTICE") && lines.get(1).contains("notice queued to admin@example.net"));
        assertTrue(lines.get(3), lines.get(3).contains("held back"));
        assertFalse(lines.get(3).contains("queued to"));
    }

    @Test
    public void nonAsciiNamesAreEncodedInTheSubject() {
        assertEquals("=?UTF-8?B?QsO8cm8=?=", Notices.header("Büro"));
        assertEquals("Office", Notices.header("Office"));
    }
}

package io.uplink.mail.internal.outbox;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import io.uplink.api.mail.FailedMessage;
import io.uplink.api.mail.QueuedMessage;
import io.uplink.testsupport.MovableClock;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** Bounces to the sender (RFC 3464), the failed folder: listing, requeue, purge and retention. */
public class FailedMailTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private final MovableClock clock = new MovableClock(Instant.parse("2026-12-01T10:00:00Z"));

    private Path dir() {
        return tmp.getRoot().toPath();
    }

    private FileOutbox open(FileOutbox.BounceTo to) throws IOException {
        // office.test is the local domain: its addresses have mailboxes here
        return new FileOutbox(dir().resolve("outbox"), dir().resolve("mailboxes/postmaster"),
                new FileOutbox.Bounces(to, a -> a.endsWith("@office.test")
                        ? dir().resolve("mailboxes").resolve(a.substring(0, a.indexOf('@'))) : null),
                clock, FileOutbox.Retry.DEFAULT);
    }

    private static InputStream in(String s) {
        return new ByteArrayInputStream(s.getBytes(StandardCharsets.UTF_8));
    }

    /** Queues a message and has the server refuse {@code refused} for good and accept the rest. */
    private static String failFor(FileOutbox o, String from, List<String> rcpts, String refused) throws IOException {
        QueuedMessage q = o.queue(from, rcpts, in("From: " + (from.isEmpty() ? "MAILER-DAEMON@x" : from)
                + "\r\nTo: " + String.join(", ", rcpts) + "\r\nSubject: hello\r\n\r\nbody\r\n"));
        o.claim(q.id()).orElseThrow();
        Map<String, FileOutbox.Outcome> outcomes = new java.util.LinkedHashMap<>();
        for (String r : rcpts) {
            outcomes.put(r, r.equals(refused) ? new FileOutbox.Outcome(FileOutbox.Verdict.PERMANENT, "550 5.1.1 no such user")
                    : new FileOutbox.Outcome(FileOutbox.Verdict.SENT, "250 ok"));
        }
        o.record(q.id(), outcomes, "smtp.example.net");
        return q.id();
    }

    private List<Path> mail(String mailbox) throws IOException {
        Path n = dir().resolve("mailboxes").resolve(mailbox).resolve("new");
        if (!Files.isDirectory(n)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(n)) {
            return s.toList();
        }
    }

    @Test
    public void aLocalSenderGetsTheDsnInItsMailboxAndThePostmasterNothing() throws Exception {
        FileOutbox o = open(FileOutbox.BounceTo.SENDER);
        String id = failFor(o, "alice@office.test", List.of("nobody@example.net"), "nobody@example.net");
        List<Path> bounces = mail("alice");
        assertEquals(1, bounces.size());
        String dsn = Files.readString(bounces.get(0), StandardCharsets.UTF_8);
        assertTrue(dsn, dsn.contains("To: <alice@office.test>"));
        assertTrue(dsn, dsn.contains("report-type=delivery-status"));
        assertTrue(dsn, dsn.contains("Final-Recipient: rfc822; nobody@example.net"));
        assertTrue(dsn, dsn.contains("550 5.1.1 no such user"));
        assertEquals(List.of(), mail("postmaster"));
        assertEquals(0, o.size());
        assertEquals(id, o.failedFolder().list().get(0).id());
    }

    @Test
    public void aRemoteSenderGetsTheDsnQueuedWithAnEmptyEnvelopeSender() throws Exception {
        FileOutbox o = open(FileOutbox.BounceTo.SENDER);
        failFor(o, "carol@example.org", List.of("dave@example.net"), "dave@example.net");
        List<QueuedMessage> queued = o.list();
        assertEquals(1, queued.size());
        QueuedMessage dsn = queued.get(0);
        assertEquals("", dsn.from());
        assertEquals(List.of("carol@example.org"), dsn.pending());
        String text;
        try (InputStream s = o.open(dsn.id())) {
            text = new String(s.readAllBytes(), StandardCharsets.UTF_8);
        }
        assertTrue(text, text.contains("Undelivered Mail Returned to Sender"));
        assertEquals(List.of(), mail("postmaster"));
    }

    @Test
    public void aBounceIsNeverBouncedItGoesToThePostmaster() throws Exception {
        FileOutbox o = open(FileOutbox.BounceTo.SENDER);
        failFor(o, "", List.of("carol@example.org"), "carol@example.org");
        assertEquals("nothing is queued for a bounce that failed", 0, o.size());
        assertEquals(1, mail("postmaster").size());
    }

    @Test
    public void bothSendsToTheSenderAndThePostmaster() throws Exception {
        FileOutbox o = open(FileOutbox.BounceTo.BOTH);
        failFor(o, "alice@office.test", List.of("x@example.net"), "x@example.net");
        assertEquals(1, mail("alice").size());
        assertEquals(1, mail("postmaster").size());
        FileOutbox p = open(FileOutbox.BounceTo.POSTMASTER);
        failFor(p, "bob@office.test", List.of("y@example.net"), "y@example.net");
        assertEquals(List.of(), mail("bob"));
        assertEquals(2, mail("postmaster").size());
    }

    @Test
    public void theFailedFolderListsReasonsAndARequeueSendsOnlyToTheFailedRecipients() throws Exception {
        FileOutbox o = open(FileOutbox.BounceTo.POSTMASTER);
        String id = failFor(o, "alice@office.test", List.of("ok@example.net", "gone@example.net"), "gone@example.net");
        byte[] body = Files.readAllBytes(dir().resolve("outbox/failed").resolve(id + ".eml"));
        List<FailedMessage> failed = o.failedFolder().list();
        assertEquals(1, failed.size());
        FailedMessage f = failed.get(0);
        assertEquals(Map.of("gone@example.net", "550 5.1.1 no such user"), f.failed());
        assertEquals(clock.instant(), f.failedAt());

        clock.advance(Duration.ofHours(1));
        Optional<String> again = o.requeue(id);
        assertTrue(again.isPresent());
        assertFalse(again.get().equals(id));
        assertEquals(List.of(), o.failedFolder().list());
        QueuedMessage q = o.get(again.get()).orElseThrow();
        assertEquals(List.of("gone@example.net"), q.pending());
        assertEquals("a requeued message gets a fresh retry time", clock.instant(), q.queued());
        assertEquals(0, q.attempts());
        try (InputStream s = o.open(again.get())) {
            assertArrayEquals(body, s.readAllBytes());
        }
        // it survives a restart in the queue, and only there
        FileOutbox reopened = open(FileOutbox.BounceTo.POSTMASTER);
        assertEquals(List.of(again.get()), reopened.list().stream().map(QueuedMessage::id).toList());
        assertEquals(List.of(), reopened.failedFolder().list());
        assertEquals(Optional.empty(), reopened.requeue(id));
    }

    @Test
    public void requeueAllAndIdsThatAreNoIds() throws Exception {
        FileOutbox o = open(FileOutbox.BounceTo.POSTMASTER);
        failFor(o, "a@office.test", List.of("x@example.net"), "x@example.net");
        failFor(o, "b@office.test", List.of("y@example.net"), "y@example.net");
        assertEquals(Optional.empty(), o.requeue("../queue/x"));
        assertFalse(o.failedFolder().delete("../../etc"));
        assertEquals(2, o.requeueAll());
        assertEquals(2, o.size());
        assertEquals(List.of(), o.failedFolder().list());
    }

    @Test
    public void purgeAndRetentionRemoveOnlyWhatIsOldEnough() throws Exception {
        FileOutbox o = open(FileOutbox.BounceTo.POSTMASTER);
        String old = failFor(o, "a@office.test", List.of("x@example.net"), "x@example.net");
        clock.advance(Duration.ofDays(20));
        String recent = failFor(o, "b@office.test", List.of("y@example.net"), "y@example.net");
        Path rejected = dir().resolve("pickup/rejected");
        Files.createDirectories(rejected);
        Path oldFile = Files.writeString(rejected.resolve("old.eml"), "x");
        Files.setLastModifiedTime(oldFile, FileTime.from(clock.instant().minus(Duration.ofDays(40))));
        Path newFile = Files.writeString(rejected.resolve("new.eml"), "x");
        Files.setLastModifiedTime(newFile, FileTime.from(clock.instant()));

        clock.advance(Duration.ofDays(15));
        // the old failure is 35 days old, the recent one 15: a 30-day retention takes the old one only
        assertEquals(2, o.expire(Duration.ofDays(30), rejected));
        assertEquals(List.of(recent), o.failedFolder().list().stream().map(FailedMessage::id).toList());
        assertFalse(Files.exists(dir().resolve("outbox/failed").resolve(old + ".eml")));
        assertFalse(Files.exists(oldFile));
        assertTrue(Files.exists(newFile));

        assertEquals(0, o.failedFolder().purge(clock.instant().minus(Duration.ofDays(16))));
        assertEquals(1, o.failedFolder().purge(clock.instant()));
        assertEquals(List.of(), o.failedFolder().list());
    }
}

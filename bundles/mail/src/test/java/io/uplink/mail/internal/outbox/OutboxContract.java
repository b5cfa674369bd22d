package io.uplink.mail.internal.outbox;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.uplink.api.mail.FailedMessage;
import io.uplink.api.mail.QueuedMessage;
import io.uplink.api.mail.TaskContext;
import io.uplink.mail.internal.outbox.FileOutbox.Outcome;
import io.uplink.mail.internal.outbox.FileOutbox.Result;
import io.uplink.mail.internal.outbox.FileOutbox.Verdict;
import io.uplink.testsupport.MovableClock;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

import org.junit.After;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * What every outbox store must do, run against the files ({@link FileOutboxContractTest}) and PostgreSQL
 * ({@link JdbcOutboxContractTest}): queueing, listing, retry, delete, per-recipient outcomes, backoff, the failed
 * state with requeue and purge, bounces, claims, and the pickup folder on top.
 */
public abstract class OutboxContract {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    protected final MovableClock clock = new MovableClock(Instant.parse("2026-12-01T10:00:00Z"));
    private final List<OutboxStore> opened = new ArrayList<>();

    /** Opens the store (again: the same queue as the previous call of this test). */
    protected abstract OutboxStore openStore(FileOutbox.Bounces bounces) throws Exception;

    /** The firing the tests send as. */
    protected static final TaskContext FIRING = new TaskContext() {
        @Override
        public String connectionId() {
            return "office";
        }

        @Override
        public String connectionName() {
            return "Office";
        }

        @Override
        public String firingId() {
            return "f1";
        }

        @Override
        public boolean linkUp() {
            return true;
        }

        @Override
        public void progress(String message, int done, int total) {
        }
    };

    protected Path dir() {
        return tmp.getRoot().toPath();
    }

    protected Path postmaster() {
        return dir().resolve("mailboxes/postmaster");
    }

    protected OutboxStore open() throws Exception {
        // office.test is the local domain: its addresses have mailboxes here
        OutboxStore o = openStore(new FileOutbox.Bounces(FileOutbox.BounceTo.SENDER, a -> a.endsWith("@office.test")
                ? dir().resolve("mailboxes").resolve(a.substring(0, a.indexOf('@'))) : null));
        opened.add(o);
        return o;
    }

    @After
    public void closeStores() {
        opened.forEach(OutboxStore::close);
    }

    protected static InputStream in(String s) {
        return new ByteArrayInputStream(s.getBytes(StandardCharsets.UTF_8));
    }

    private static Outcome sent() {
        return new Outcome(Verdict.SENT, "250 ok");
    }

    private static Outcome later() {
        return new Outcome(Verdict.TEMPORARY, "451 later");
    }

    private static Outcome refused() {
        return new Outcome(Verdict.PERMANENT, "550 5.1.1 no such user");
    }

    private static Map<String, Outcome> outcomes(Object... pairs) {
        Map<String, Outcome> m = new LinkedHashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            m.put((String) pairs[i], (Outcome) pairs[i + 1]);
        }
        return m;
    }

    private static Result tryOnce(OutboxStore o, String id, Map<String, Outcome> outcomes) throws IOException {
        OutboxStore.Sending s = o.sending(FIRING);
        try {
            assertTrue("claimed " + id, s.claim(id).isPresent());
            return s.record(id, outcomes, "smtp.example.net", true, Runnable::run);
        } finally {
            s.close();
        }
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
    public void queuedMessagesAreListedAndReadBackWithoutBccAndSurviveAReopen() throws Exception {
        OutboxStore o = open();
        String msg = "From: Alice <alice@example.org>\r\nTo: bob@example.net\r\nBcc: secret@example.net\r\n"
                + "Subject: hi\r\n\r\nBody\r\n";
        QueuedMessage a = o.queue(null, List.of(), in(msg));
        clock.advance(Duration.ofSeconds(1));
        QueuedMessage b = o.queue("env@example.org", List.of("<r@example.net>"), in("From: a@x.org\r\nTo: t@y.org\r\n"
                + "X-Priority: 1\r\n\r\nx"));
        assertEquals("alice@example.org", a.from());
        assertEquals(List.of("bob@example.net", "secret@example.net"), a.pending());
        assertEquals("env@example.org", b.from());
        assertEquals(List.of("r@example.net"), b.pending());
        assertTrue(b.priority());
        assertFalse(a.priority());

        OutboxStore again = open();
        assertEquals(2, again.size());
        assertEquals(List.of(a, b), again.list());
        assertEquals(a, again.get(a.id()).orElseThrow());
        assertTrue(again.get("no-such-id").isEmpty());
        byte[] expected = "From: Alice <alice@example.org>\r\nTo: bob@example.net\r\nSubject: hi\r\n\r\nBody\r\n"
                .getBytes(StandardCharsets.UTF_8);
        try (InputStream s = again.open(a.id())) {
            assertArrayEquals(expected, s.readAllBytes());
        }
        assertEquals(expected.length, a.size());
        try {
            again.open("no-such-id").close();
            fail("opened a message that is not there");
        } catch (IOException expectedFailure) {
            // as the API says
        }
        assertEquals("urgent first", List.of(b.id(), a.id()), again.due().stream().map(QueuedMessage::id).toList());
    }

    @Test
    public void notMailIsRefusedAndNothingIsQueued() throws Exception {
        OutboxStore o = open();
        for (String bad : new String[] {"", "From: a@x.org\r\n\r\nno recipient", "To: b@y.org\r\n\r\nno sender"}) {
            try {
                o.queueOrReject(null, List.of(), in(bad));
                fail("accepted: " + bad);
            } catch (HeaderBlock.MalformedMessageException e) {
                assertFalse(e.getMessage().isBlank());
            }
        }
        assertEquals(0, o.size());
    }

    @Test
    public void concurrentSubmitsAreAllDurableWhenTheyReturn() throws Exception {
        OutboxStore o = open();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<QueuedMessage>> futures = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                byte[] m = ("From: a@x.org\r\nTo: b" + i + "@y.org\r\n\r\nbody " + i + "\r\n").getBytes(StandardCharsets.UTF_8);
                futures.add(pool.submit(() -> o.submit(null, List.of(), m)));
            }
            Set<String> ids = new TreeSet<>();
            for (Future<QueuedMessage> f : futures) {
                ids.add(f.get().id());
            }
            assertEquals(40, ids.size());
            o.close();
            OutboxStore again = open();
            assertEquals(ids, new TreeSet<>(again.list().stream().map(QueuedMessage::id).toList()));
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    public void eachRecipientHasItsOwnOutcomeAndAPermanentFailureBouncesAndEndsInFailed() throws Exception {
        OutboxStore o = open();
        QueuedMessage q = o.queue("alice@office.test", List.of("a@y.org", "b@y.org", "c@y.org"),
                in("From: alice@office.test\r\nTo: a@y.org\r\nSubject: three\r\n\r\nx"));
        assertEquals(Result.DEFERRED, tryOnce(o, q.id(), outcomes("a@y.org", sent(), "b@y.org", later(), "c@y.org",
                refused())));
        QueuedMessage after = o.get(q.id()).orElseThrow();
        assertEquals(List.of("b@y.org"), after.pending());
        assertEquals(1, after.attempts());
        assertEquals("451 later", after.lastError());
        assertEquals("the sender's local mailbox has the bounce", 1, mail("alice").size());
        assertTrue(Files.readString(mail("alice").get(0)).contains("c@y.org"));
        assertTrue(o.failedMessages().isEmpty());

        clock.advance(Duration.ofHours(1));
        assertEquals(Result.FAILED, tryOnce(o, q.id(), outcomes("b@y.org", sent())));
        assertEquals(0, o.size());
        List<FailedMessage> failed = open().failedMessages();
        assertEquals(1, failed.size());
        assertEquals(q.id(), failed.get(0).id());
        assertEquals(Map.of("c@y.org", "550 5.1.1 no such user"), failed.get(0).failed());
        assertEquals(clock.instant(), failed.get(0).failedAt());
        assertEquals(q.queued(), failed.get(0).queued());
        assertEquals(failed.get(0), o.failedMessage(q.id()).orElseThrow());
        assertEquals("no second bounce", 1, mail("alice").size());
    }

    @Test
    public void aMessageAcceptedForEveryRecipientLeavesTheQueue() throws Exception {
        OutboxStore o = open();
        QueuedMessage q = o.queue(null, List.of(), in("From: a@x.org\r\nTo: b@y.org, c@y.org\r\n\r\nx"));
        assertEquals(Result.SENT, tryOnce(o, q.id(), outcomes("b@y.org", sent(), "c@y.org", sent())));
        assertEquals(0, o.size());
        assertEquals(0, open().size());
        assertTrue(o.failedMessages().isEmpty());
    }

    @Test
    public void aRemoteSendersBounceIsQueuedWithAnEmptySender() throws Exception {
        OutboxStore o = open();
        QueuedMessage q = o.queue(null, List.of(), in("From: alice@example.org\r\nTo: b@y.org\r\n\r\nx"));
        assertEquals(Result.FAILED, tryOnce(o, q.id(), outcomes("b@y.org", refused())));
        List<QueuedMessage> queued = o.list();
        assertEquals(1, queued.size());
        assertEquals("", queued.get(0).from());
        assertEquals(List.of("alice@example.org"), queued.get(0).pending());
        // a bounce that fails goes to the postmaster, never back to anyone
        assertEquals(Result.FAILED, tryOnce(o, queued.get(0).id(), outcomes("alice@example.org", refused())));
        assertEquals(0, o.size());
        try (Stream<Path> s = Files.list(postmaster().resolve("new"))) {
            assertEquals(1, s.count());
        }
    }

    @Test
    public void temporaryFailuresBackOffAndRetryMakesAMessageDueAgain() throws Exception {
        OutboxStore o = open();
        QueuedMessage q = o.queue(null, List.of(), in("From: a@x.org\r\nTo: b@y.org\r\n\r\nx"));
        QueuedMessage other = o.queue(null, List.of(), in("From: a@x.org\r\nTo: c@y.org\r\n\r\ny"));
        Instant start = clock.instant();
        Duration[] expected = {Duration.ofMinutes(1), Duration.ofMinutes(2), Duration.ofMinutes(4)};
        for (int i = 0; i < expected.length; i++) {
            assertEquals(Result.DEFERRED, tryOnce(o, q.id(), outcomes("b@y.org", later())));
            QueuedMessage m = o.get(q.id()).orElseThrow();
            assertEquals(i + 1, m.attempts());
            assertEquals(clock.instant().plus(expected[i]), m.nextTry());
            assertFalse("not due before its time", o.due().stream().anyMatch(d -> d.id().equals(q.id())));
            clock.advance(expected[i]);
            assertTrue("due at its time", o.due().stream().anyMatch(d -> d.id().equals(q.id())));
        }
        tryOnce(o, q.id(), outcomes("b@y.org", later()));
        tryOnce(o, other.id(), outcomes("c@y.org", later()));
        assertTrue(o.due().isEmpty());
        assertTrue(o.retry(q.id()));
        assertNull(o.get(q.id()).orElseThrow().nextTry());
        assertEquals(List.of(q.id()), o.due().stream().map(QueuedMessage::id).toList());
        assertFalse(o.retry("no-such-id"));
        assertEquals(2, o.retryAll());
        assertEquals(2, open().due().size());

        // still failing after retry.maxAge (5 days by default): given up, bounced, failed
        clock.set(start.plus(Duration.ofDays(5)));
        assertEquals(Result.FAILED, tryOnce(o, q.id(), outcomes("b@y.org", later())));
        FailedMessage f = o.failedMessage(q.id()).orElseThrow();
        assertTrue(f.failed().get("b@y.org"), f.failed().get("b@y.org").startsWith("gave up after 5d in the queue"));
    }

    @Test
    public void aConnectionBreakDefersWithoutBackoff() throws Exception {
        OutboxStore o = open();
        QueuedMessage q = o.queue(null, List.of(), in("From: a@x.org\r\nTo: b@y.org, c@y.org\r\n\r\nx"));
        OutboxStore.Sending s = o.sending(FIRING);
        s.claim(q.id()).orElseThrow();
        assertEquals(Result.DEFERRED, s.recordAll(q.id(), Verdict.TEMPORARY, "connection lost", "relay", false));
        s.close();
        QueuedMessage m = o.get(q.id()).orElseThrow();
        assertNull(m.nextTry());
        assertEquals(List.of("b@y.org", "c@y.org"), m.pending());
        assertEquals("connection lost", m.lastError());
        assertEquals(1, o.due().size());
    }

    @Test
    public void aClaimedMessageIsNotHandedOutTwiceNorDeletedAndReleaseGivesItBack() throws Exception {
        OutboxStore o = open();
        QueuedMessage q = o.queue(null, List.of(), in("From: a@x.org\r\nTo: b@y.org, c@y.org\r\n\r\nbody"));
        OutboxStore.Sending s = o.sending(FIRING);
        FileOutbox.Envelope env = s.claim(q.id()).orElseThrow();
        assertEquals(List.of("b@y.org", "c@y.org"), env.pending());
        assertEquals("a@x.org", env.from());
        assertEquals(q.size(), env.size());
        assertTrue(s.claim(q.id()).isEmpty());
        assertTrue(o.due().isEmpty());
        assertEquals("still listed while it is sent", 1, o.list().size());
        try {
            o.delete(q.id());
            fail("deleted a message being sent");
        } catch (IllegalStateException e) {
            assertTrue(e.getMessage().contains("being sent"));
        }
        s.release(q.id());
        assertEquals(1, o.due().size());
        assertTrue(o.delete(q.id()));
        assertFalse(o.delete(q.id()));
        assertEquals(0, open().size());
        assertTrue(s.claim(q.id()).isEmpty());
        s.close();
    }

    @Test
    public void failedMessagesAreRequeuedForTheirFailedRecipientsDeletedAndPurged() throws Exception {
        OutboxStore o = open();
        QueuedMessage q = o.queue(null, List.of("a@y.org", "b@y.org"), in("From: s@office.test\r\nTo: a@y.org\r\n\r\nx"));
        tryOnce(o, q.id(), outcomes("a@y.org", sent(), "b@y.org", refused()));
        assertEquals(1, o.failedMessages().size());

        clock.advance(Duration.ofMinutes(5));
        String again = o.requeue(q.id()).orElseThrow();
        assertNotEquals(q.id(), again);
        assertTrue(o.failedMessages().isEmpty());
        QueuedMessage requeued = o.get(again).orElseThrow();
        assertEquals(List.of("b@y.org"), requeued.pending());
        assertEquals(clock.instant(), requeued.queued());
        assertEquals(0, requeued.attempts());
        try (InputStream in = o.open(again)) {
            assertEquals("From: s@office.test\r\nTo: a@y.org\r\n\r\nx", new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
        assertTrue(o.requeue("no-such-id").isEmpty());

        tryOnce(o, again, outcomes("b@y.org", refused()));
        clock.advance(Duration.ofDays(10));
        QueuedMessage q2 = o.queue(null, List.of(), in("From: s@office.test\r\nTo: c@y.org\r\n\r\ny"));
        tryOnce(o, q2.id(), outcomes("c@y.org", refused()));
        assertEquals("newest failure first", List.of(q2.id(), again),
                o.failedMessages().stream().map(FailedMessage::id).toList());
        assertEquals(0, o.purgeFailed(clock.instant().minus(Duration.ofDays(11))));
        assertEquals(1, o.purgeFailed(clock.instant().minus(Duration.ofDays(1))));
        assertEquals(List.of(q2.id()), open().failedMessages().stream().map(FailedMessage::id).toList());
        assertEquals(1, o.requeueAll());
        assertTrue(o.failedMessages().isEmpty());
        String last = o.list().get(0).id();
        tryOnce(o, last, outcomes("c@y.org", refused()));
        assertFalse(o.deleteFailed("no-such-id"));
        assertTrue(o.deleteFailed(last));
        assertTrue(o.failedMessages().isEmpty());
        assertEquals(0, o.size());
    }

    @Test
    public void expireRemovesOldFailedMailAndOldRejectedPickupFiles() throws Exception {
        OutboxStore o = open();
        QueuedMessage q = o.queue(null, List.of(), in("From: s@office.test\r\nTo: c@y.org\r\n\r\ny"));
        tryOnce(o, q.id(), outcomes("c@y.org", refused()));
        Path rejected = Files.createDirectories(dir().resolve("pickup/rejected"));
        Files.writeString(rejected.resolve("old.txt"), "x");
        Files.setLastModifiedTime(rejected.resolve("old.txt"), java.nio.file.attribute.FileTime.from(
                clock.instant().minus(Duration.ofDays(40))));
        assertEquals(1, o.expire(Duration.ofDays(30), rejected));
        assertEquals(1, o.failedMessages().size());
        clock.advance(Duration.ofDays(31));
        assertEquals(1, o.expire(Duration.ofDays(30), rejected));
        assertTrue(o.failedMessages().isEmpty());
    }

    @Test
    public void thePickupFolderQueuesIntoTheStore() throws Exception {
        OutboxStore o = open();
        Path dir = dir().resolve("pickup");
        Pickup p = new Pickup(dir, o);
        Files.writeString(dir.resolve("good.eml"), "From: a@x.org\nTo: b@y.org\nBcc: c@y.org\n\nhello\n");
        Files.writeString(dir.resolve("bad.txt"), "this is not mail\n");
        assertEquals("a file is taken once it stopped changing", 0, p.scan());
        assertEquals(1, p.scan());
        QueuedMessage q = o.list().get(0);
        assertEquals(List.of("b@y.org", "c@y.org"), q.pending());
        try (InputStream s = o.open(q.id())) {
            assertEquals("From: a@x.org\nTo: b@y.org\n\nhello\n", new String(s.readAllBytes(), StandardCharsets.UTF_8));
        }
        assertFalse(Files.exists(dir.resolve("good.eml")));
        assertTrue(Files.exists(dir.resolve("rejected/bad.txt")));
    }
}

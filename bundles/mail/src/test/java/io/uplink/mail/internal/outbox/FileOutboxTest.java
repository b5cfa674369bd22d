package io.uplink.mail.internal.outbox;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.uplink.api.mail.QueuedMessage;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

public class FileOutboxTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private FileOutbox open() throws IOException {
        Path d = tmp.getRoot().toPath();
        return new FileOutbox(d.resolve("outbox"), d.resolve("mailboxes/postmaster"), Clock.systemUTC(),
                FileOutbox.Retry.DEFAULT);
    }

    private static InputStream in(String s) {
        return new ByteArrayInputStream(s.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    public void envelopeFromHeadersBccStrippedEverythingElseKept() throws Exception {
        FileOutbox o = open();
        String msg = "From: Alice <alice@example.org>\r\nTo: bob@example.net\r\nCc: \"C, D\" <cd@example.net>\r\n"
                + "Bcc: secret@example.net,\r\n hidden@example.net\r\nSubject: hi\r\n\r\nBody\r\nBcc: not a header\r\n";
        QueuedMessage q = o.queue(null, List.of(), in(msg));
        assertEquals("alice@example.org", q.from());
        assertEquals(List.of("bob@example.net", "cd@example.net", "secret@example.net", "hidden@example.net"), q.pending());
        byte[] stored;
        try (InputStream s = o.open(q.id())) {
            stored = s.readAllBytes();
        }
        String expected = "From: Alice <alice@example.org>\r\nTo: bob@example.net\r\nCc: \"C, D\" <cd@example.net>\r\n"
                + "Subject: hi\r\n\r\nBody\r\nBcc: not a header\r\n";
        assertArrayEquals(expected.getBytes(StandardCharsets.UTF_8), stored);
        assertEquals(stored.length, q.size());
        assertFalse(q.priority());
    }

    @Test
    public void senderHeaderWinsAndExplicitEnvelopeWinsOverHeaders() throws Exception {
        FileOutbox o = open();
        QueuedMessage a = o.queue(null, List.of(), in("From: a@example.org\r\nSender: s@example.org\r\nTo: t@example.net\r\n\r\nx"));
        assertEquals("s@example.org", a.from());
        QueuedMessage b = o.queue("env@example.org", List.of("<r@example.net>"), in("From: a@example.org\r\nTo: t@example.net\r\n\r\nx"));
        assertEquals("env@example.org", b.from());
        assertEquals(List.of("r@example.net"), b.pending());
    }

    @Test
    public void priorityIsRecorded() throws Exception {
        FileOutbox o = open();
        assertTrue(o.queue(null, List.of(), in("From: a@x.org\r\nTo: b@y.org\r\nX-Priority: 1\r\n\r\nx")).priority());
        assertTrue(o.queue(null, List.of(), in("From: a@x.org\r\nTo: b@y.org\r\nImportance: High\r\n\r\nx")).priority());
        assertFalse(o.queue(null, List.of(), in("From: a@x.org\r\nTo: b@y.org\r\nX-Priority: 3\r\n\r\nx")).priority());
    }

    @Test
    public void notMailIsRefusedWithAReason() throws Exception {
        FileOutbox o = open();
        for (String bad : new String[] {"", "just some text\nwithout headers\n", "From: a@x.org\r\n\r\nno recipient",
                "To: b@y.org\r\n\r\nno sender", "From: a@x.org\r\nTo: <<broken\r\n\r\nx"}) {
            try {
                o.queueOrReject(null, List.of(), in(bad));
                fail("accepted: " + bad);
            } catch (HeaderBlock.MalformedMessageException e) {
                assertFalse(e.getMessage().isBlank());
            }
        }
        assertEquals(0, o.size());
        try (var s = Files.list(o.root().resolve("tmp"))) {
            assertEquals("no temporary file left behind", 0, s.count());
        }
    }

    @Test
    public void theQueueSurvivesAReopenWithItsState() throws Exception {
        FileOutbox o = open();
        QueuedMessage q = o.queue(null, List.of(), in("From: a@x.org\r\nTo: b@y.org, c@y.org\r\n\r\nx"));
        o.claim(q.id());
        o.record(q.id(), Map.of("b@y.org", new FileOutbox.Outcome(FileOutbox.Verdict.SENT, "250 ok"),
                "c@y.org", new FileOutbox.Outcome(FileOutbox.Verdict.TEMPORARY, "451 later")), "relay");
        FileOutbox again = open();
        assertEquals(1, again.size());
        QueuedMessage r = again.get(q.id()).orElseThrow();
        assertEquals(List.of("c@y.org"), r.pending());
        assertEquals(1, r.attempts());
        assertEquals("451 later", r.lastError());
        assertTrue(r.nextTry() != null);
        assertTrue(again.retry(q.id()));
        assertEquals(null, open().get(q.id()).orElseThrow().nextTry());
        assertTrue(again.delete(q.id()));
        assertEquals(0, open().size());
        assertFalse(again.delete(q.id()));
    }

    @Test
    public void aClaimedMessageIsNotHandedOutTwice() throws Exception {
        FileOutbox o = open();
        QueuedMessage q = o.queue(null, List.of(), in("From: a@x.org\r\nTo: b@y.org\r\n\r\nx"));
        assertTrue(o.claim(q.id()).isPresent());
        assertTrue(o.claim(q.id()).isEmpty());
        assertTrue(o.due().isEmpty());
        o.release(q.id());
        assertEquals(1, o.due().size());
    }

    @Test
    public void aMessageFileWithoutStateIsMovedAsideNotSentNotDeleted() throws Exception {
        FileOutbox o = open();
        Files.writeString(o.root().resolve("queue/orphan.eml"), "From: a@x.org\r\n\r\nx");
        FileOutbox again = open();
        assertEquals(0, again.size());
        assertTrue(Files.exists(o.root().resolve("tmp/orphan.unqueued.eml")));
    }

    @Test
    public void pickupQueuesMailAndMovesTheRestAsideWithAReason() throws Exception {
        FileOutbox o = open();
        Path dir = tmp.getRoot().toPath().resolve("pickup");
        Pickup p = new Pickup(dir, o);
        Files.writeString(dir.resolve("good.eml"), "From: a@x.org\nTo: b@y.org\nBcc: c@y.org\n\nhello\n");
        Files.writeString(dir.resolve("bad.txt"), "this is not mail\n");
        Files.writeString(dir.resolve(".partial"), "From: a@x.org\n");
        assertEquals("a file is taken once it stopped changing", 0, p.scan());
        assertEquals(1, p.scan());
        assertEquals(1, o.size());
        QueuedMessage q = o.list().get(0);
        assertEquals(List.of("b@y.org", "c@y.org"), q.pending());
        try (InputStream s = o.open(q.id())) {
            assertEquals("From: a@x.org\nTo: b@y.org\n\nhello\n", new String(s.readAllBytes(), StandardCharsets.UTF_8));
        }
        assertFalse(Files.exists(dir.resolve("good.eml")));
        assertFalse(Files.exists(dir.resolve("bad.txt")));
        assertTrue(Files.exists(dir.resolve("rejected/bad.txt")));
        assertTrue(Files.readString(dir.resolve("rejected/bad.txt.reason")).contains("not a header field"));
        assertTrue("dot files are left alone", Files.exists(dir.resolve(".partial")));
    }

    @Test
    public void aSentMessageLeavesTheQueueAtOnceAndItsFilesAreUnlinkedByTheGivenExecutorOrAtTheNextStart() throws Exception {
        FileOutbox o = open();
        QueuedMessage q = o.queue(null, List.of(), in("From: a@x.org\r\nTo: b@y.org\r\n\r\nx"));
        o.claim(q.id());
        List<Runnable> later = new java.util.ArrayList<>();
        assertEquals(FileOutbox.Result.SENT, o.record(q.id(), Map.of("b@y.org",
                new FileOutbox.Outcome(FileOutbox.Verdict.SENT, "250 ok")), "relay", true, later::add));
        Path queue = o.root().resolve("queue");
        Path removed = o.root().resolve("removed");
        try (var s = Files.list(queue)) {
            assertEquals("out of the queue before the executor ran", 0, s.count());
        }
        assertEquals(0, open().size());
        // a crash before the unlinks: the next start clears removed/
        try (var s = Files.list(removed)) {
            assertEquals(0, s.count());
        }

        QueuedMessage q2 = o.queue(null, List.of(), in("From: a@x.org\r\nTo: b@y.org\r\n\r\ny"));
        o.claim(q2.id());
        later.clear();
        o.record(q2.id(), Map.of("b@y.org", new FileOutbox.Outcome(FileOutbox.Verdict.SENT, "250 ok")), "relay", true,
                later::add);
        try (var s = Files.list(removed)) {
            assertEquals(2, s.count());
        }
        assertEquals(1, later.size());
        later.get(0).run();
        try (var s = Files.list(removed)) {
            assertEquals(0, s.count());
        }
    }
}

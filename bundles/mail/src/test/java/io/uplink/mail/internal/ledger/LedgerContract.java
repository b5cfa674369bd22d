package io.uplink.mail.internal.ledger;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import io.uplink.mail.internal.store.Maildir;

/**
 * What a collection relies on from its ledger, run against each store ({@link UidLedgerContractTest},
 * {@link JdbcLedgerContractTest}), as Quartz runs one suite against its RAM and JDBC job stores. A "crash" is what
 * a kill of the node leaves behind: the ledger is never closed (and in the database its session is gone).
 */
public abstract class LedgerContract {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    protected final Instant t0 = Instant.parse("2026-01-01T00:00:00Z");

    /** Opens the test's collector's ledger (a fresh one at the first call of a test). */
    protected abstract Ledger open(Instant now, Ledger.Settle settle) throws Exception;

    /** Leaves {@code ledger} as a kill of its node would: not closed, and its firing's session gone. */
    protected abstract void crash(Ledger ledger) throws Exception;

    private Ledger open(Instant now) throws Exception {
        return open(now, p -> false);
    }

    private Path mailboxes() {
        return tmp.getRoot().toPath().resolve("mailboxes");
    }

    private static final byte[] BODY = "To: alice@office.test\r\nCc: bob@office.test\r\nSubject: both\r\n\r\nhello\r\n"
            .getBytes(StandardCharsets.US_ASCII);

    @Test
    public void storedEntriesSurviveReopeningWithAnyUid() throws Exception {
        Instant t1 = t0.plusSeconds(60);
        try (Ledger l = open(t0)) {
            l.intend("a b%c", 10, "u-1", List.of("alice"));
            l.stored("a b%c", 10, t0);
            Map<String, Long> batch = new LinkedHashMap<>();
            batch.put("x", 20L);
            batch.put("ü,1", 30L);
            l.stored(batch, t1);
            assertEquals(3, l.size());
        }
        try (Ledger l = open(t1)) {
            assertEquals(3, l.size());
            assertEquals(new Ledger.Entry("a b%c", 10, t0.toEpochMilli(), t0.toEpochMilli(), 0), l.get("a b%c"));
            assertEquals(30, l.get("ü,1").size());
            assertEquals(t1.toEpochMilli(), l.collectedAt("x", 20));
            assertEquals("an unknown size matches", t1.toEpochMilli(), l.collectedAt("x", -1));
            assertEquals("another size is the server reusing the UID", -1, l.collectedAt("x", 21));
            assertEquals(-1, l.collectedAt("y", 20));
            assertNull(l.get("y"));
        }
    }

    @Test
    public void aCrashBetweenIntendAndStoredIsSettledFromTheMaildir() throws Exception {
        Maildir alice = Maildir.open(mailboxes().resolve("alice"));
        String done = Maildir.uniqueName();
        String lost = Maildir.uniqueName();
        Ledger l = open(t0);
        l.stored("old", 5, t0);
        l.intend("u1", BODY.length, done, List.of("alice"));
        alice.deliver(done, out -> out.write(BODY), true);
        l.intend("u2", BODY.length, lost, List.of("alice"));
        Files.writeString(mailboxes().resolve("alice/tmp/" + lost), "half");
        // killed here: u1's file is in new/ but not recorded as stored; u2 never got its file
        crash(l);
        try (Ledger again = open(t0.plusSeconds(5), Ledger.inMailboxes(mailboxes()))) {
            assertNotNull("u1 is in the mailbox, so it counts as collected", again.get("u1"));
            assertEquals(t0.plusSeconds(5).toEpochMilli(), again.collectedAt("u1", BODY.length));
            assertNull("u2 never arrived, so it is collected again", again.get("u2"));
            assertNotNull(again.get("old"));
        }
        assertFalse("the half-written temp file is cleaned up", Files.exists(mailboxes().resolve("alice/tmp/" + lost)));
        assertTrue(alice.holds(done));
        try (Ledger again = open(t0.plusSeconds(6))) {
            assertNotNull("settled for good", again.get("u1"));
            assertNull(again.get("u2"));
        }
    }

    @Test
    public void aMessageInOneOfItsMailboxesIsCopiedToTheOtherOnceAndThenDelivered() throws Exception {
        Maildir.open(mailboxes().resolve("bob"));
        String unique = Maildir.uniqueName();
        Ledger l = open(t0);
        l.intend("u1", BODY.length, unique, List.of("alice", "bob"));
        Path done = Maildir.open(mailboxes().resolve("alice")).deliver(unique, out -> out.write(BODY), true);
        // bob's copy was still being written when the kill came
        Files.writeString(mailboxes().resolve("bob/tmp/" + unique), "Subject: half");
        crash(l);
        try (Ledger again = open(t0, Ledger.inMailboxes(mailboxes()))) {
            assertNotNull("in every mailbox after the repair: delivered", again.get("u1"));
        }
        List<String> bob = names(mailboxes().resolve("bob/new"));
        assertEquals("bob gets exactly one copy, under the same unique name", List.of(done.getFileName().toString()), bob);
        assertArrayEquals(BODY, Files.readAllBytes(mailboxes().resolve("bob/new/" + bob.get(0))));
        assertEquals(List.of(), names(mailboxes().resolve("bob/tmp")));
    }

    @Test
    public void aDeliverySettledAsNotDoneIsNotAskedAboutAgain() throws Exception {
        Ledger l = open(t0);
        l.stored("a", 10, t0);
        l.intend("u1", 10, "unique", List.of("alice"));
        crash(l);
        AtomicInteger asked = new AtomicInteger();
        Ledger.Settle none = p -> {
            asked.incrementAndGet();
            assertEquals(new Ledger.Pending("u1", 10, "unique", List.of("alice")), p);
            return false;
        };
        try (Ledger again = open(t0, none)) {
            assertNull(again.get("u1"));
            assertNotNull(again.get("a"));
        }
        try (Ledger again = open(t0, none)) {
            assertNull(again.get("u1"));
        }
        assertEquals(1, asked.get());
    }

    @Test
    public void deletedOnServerIsRememberedAndForgottenAfterTheExpiry() throws Exception {
        Instant t1 = t0.plus(Duration.ofDays(1));
        try (Ledger l = open(t0)) {
            l.stored("1/1", 10, t0);
            l.stored("1/2", 10, t0);
            l.deleted("1/1", t1);
            l.deleted("unknown", t1);
            l.sync();
            assertEquals(-1, l.collectedAt("1/1", 10));
        }
        try (Ledger l = open(t1)) {
            assertEquals(new Ledger.Entry("1/1", 10, t0.toEpochMilli(), t0.toEpochMilli(), t1.toEpochMilli()), l.get("1/1"));
            assertTrue(l.get("1/1").deletedOnServer());
            assertEquals("a confirmed deletion is not due again", List.of("1/2"), l.due("1/", Duration.ZERO, t1));
            l.forgetDeleted(t1.plus(Duration.ofDays(5)), Duration.ofDays(7));
            assertNotNull("not yet expired", l.get("1/1"));
            l.forgetDeleted(t1.plus(Duration.ofDays(8)), Duration.ofDays(7));
            assertNull(l.get("1/1"));
            assertEquals(1, l.size());
        }
        try (Ledger l = open(t1)) {
            assertNull(l.get("1/1"));
            assertNotNull(l.get("1/2"));
            assertEquals(1, l.size());
        }
    }

    @Test
    public void entriesGoneFromTheServerForTheExpiryTimeAreDroppedButNotWhenNobodyLooked() throws Exception {
        Duration week = Duration.ofDays(7);
        try (Ledger l = open(t0)) {
            l.stored("kept", 1, t0);
            l.stored("gone", 1, t0);
            l.refresh(List.of("kept", "gone"), t0, week);
            // a month without a run: nothing is known to be gone, nothing is dropped
            l.refresh(List.of("kept", "gone"), t0.plus(Duration.ofDays(30)), week);
            assertEquals(2, l.size());
            l.refresh(List.of("kept"), t0.plus(Duration.ofDays(31)), week);
            assertNotNull(l.get("gone"));
        }
        try (Ledger l = open(t0.plus(Duration.ofDays(39)))) {
            assertNotNull("still only missing", l.get("gone"));
            l.refresh(List.of("kept"), t0.plus(Duration.ofDays(39)), week);
            assertNull(l.get("gone"));
            assertNotNull(l.get("kept"));
        }
        try (Ledger l = open(t0)) {
            assertEquals(1, l.size());
        }
    }

    @Test
    public void aUidMissingFromAListingIsRememberedAcrossReopeningSoItsReturnIsNewMail() throws Exception {
        Duration week = Duration.ofDays(7);
        try (Ledger l = open(t0)) {
            l.stored("a", 1, t0);
            l.stored("b", 1, t0);
            l.refresh(List.of("a", "b"), t0, week);
        }
        Instant t1 = t0.plus(Duration.ofDays(1));
        try (Ledger l = open(t1)) {
            assertEquals("last seen at the last listing", t0.toEpochMilli(), l.get("a").lastSeen());
            l.refresh(List.of("a"), t1, week);
        }
        Instant t2 = t0.plus(Duration.ofDays(2));
        try (Ledger l = open(t2)) {
            assertEquals("last seen at the listing before it went missing", t0.toEpochMilli(), l.get("b").lastSeen());
            assertEquals(t1.toEpochMilli(), l.get("a").lastSeen());
            l.refresh(List.of("a", "b"), t2, week);
            assertNull("back after missing: the server reuses the UID", l.get("b"));
            assertNotNull(l.get("a"));
        }
        try (Ledger l = open(t2)) {
            assertNull(l.get("b"));
            assertEquals(1, l.size());
        }
    }

    @Test
    public void aListingAnswersAsCollectedAtOneMessageAtATime() throws Exception {
        try (Ledger l = open(t0)) {
            l.stored(Map.of("a", 10L, "b", 20L, "c", 30L), t0);
            Ledger.Listing listing = l.listing();
            assertEquals(t0.toEpochMilli(), listing.seen(new StringBuilder("a"), 10));
            assertEquals("another size", -1, listing.seen("b", 21));
            assertEquals("new", -1, listing.seen("d", 5));
            listing.finish(t0.plusSeconds(1), Duration.ofDays(30));
            assertEquals("c was not listed: missing, not yet forgotten", t0.toEpochMilli(), l.get("c").lastSeen());
        }
        try (Ledger l = open(t0)) {
            assertEquals(3, l.size());
            assertEquals(t0.toEpochMilli(), l.collectedAt("a", 10));
            Ledger.Listing listing = l.listing();
            assertEquals("back after missing from a listing: new mail under a reused UID", -1, listing.seen("c", 30));
            listing.finish(t0.plusSeconds(2), Duration.ofDays(30));
            assertNull(l.get("c"));
        }
    }

    @Test
    public void oversizedMessagesAreKeptUntilGoneFromTheServerOrStored() throws Exception {
        try (Ledger l = open(t0)) {
            l.oversized("big 1", 5_000_000, t0);
            l.oversized("big2", 6_000_000, t0);
            l.oversized("big3", 7_000_000, t0);
            assertTrue(l.knownOversized("big 1", 5_000_000));
            assertFalse("another size is another message", l.knownOversized("big 1", 5_000_001));
        }
        Instant t1 = t0.plus(Duration.ofHours(1));
        try (Ledger l = open(t1)) {
            assertEquals(List.of(new Ledger.Oversized("big 1", 5_000_000, t0.toEpochMilli()),
                    new Ledger.Oversized("big2", 6_000_000, t0.toEpochMilli()),
                    new Ledger.Oversized("big3", 7_000_000, t0.toEpochMilli())), byUid(l.oversized()));
            assertTrue("survives reopening", l.knownOversized("big2", 6_000_000));
            assertEquals("not an entry", 0, l.size());
            l.refresh(List.of("big2", "big3"), t1, Duration.ofDays(30));
            l.intend("big3", 7_000_000, "u-3", List.of("alice"));
            l.stored("big3", 7_000_000, t1);
        }
        try (Ledger l = open(t1)) {
            assertEquals("gone from the server, or stored after all: no longer mentioned",
                    List.of(new Ledger.Oversized("big2", 6_000_000, t0.toEpochMilli())), l.oversized());
            assertEquals(t1.toEpochMilli(), l.collectedAt("big3", 7_000_000));
        }
    }

    @Test
    public void aNewUidValidityVoidsTheOldEntriesAndTheMarkAcrossReopening() throws Exception {
        try (Ledger l = open(t0)) {
            assertEquals(0, l.validity());
            l.validity(17);
            l.stored("17/1", 10, t0);
            l.stored("17/2", 10, t0);
            l.oversized("17/3", 9_000_000, t0);
            l.handledUpTo(3);
        }
        try (Ledger l = open(t0)) {
            assertEquals(17, l.validity());
            assertEquals(3, l.handledUpTo());
            assertEquals(List.of("17/1", "17/2"), sorted(l.due("17/", Duration.ZERO, t0)));
            l.validity(18);
            assertEquals(0, l.handledUpTo());
            assertNull(l.get("17/1"));
            l.stored("18/1", 10, t0);
        }
        try (Ledger l = open(t0)) {
            assertEquals(18, l.validity());
            assertEquals(0, l.handledUpTo());
            assertNull(l.get("17/1"));
            assertEquals(List.of(), l.oversized());
            assertEquals(1, l.size());
        }
    }

    @Test
    public void dueListsTheEntriesKeptLongEnoughUnderThePrefix() throws Exception {
        Instant t1 = t0.plus(Duration.ofDays(3));
        try (Ledger l = open(t0)) {
            l.validity(5);
            l.stored(Map.of("5/1", 1L, "5/2", 1L), t0);
            l.stored("5/3", 1, t1);
            l.deleted("5/2", t1);
        }
        try (Ledger l = open(t1)) {
            assertEquals(List.of("5/1"), l.due("5/", Duration.ofDays(2), t1));
            assertEquals(List.of("5/1", "5/3"), sorted(l.due("5/", Duration.ZERO, t1)));
            assertEquals(List.of(), l.due("6/", Duration.ZERO, t1));
        }
    }

    @Test
    public void theMarkMovesAndSurvivesReopening() throws Exception {
        try (Ledger l = open(t0)) {
            l.validity(9);
            l.handledUpTo(40);
            l.handledUpTo(40);
            l.handledUpTo(41);
        }
        try (Ledger l = open(t0)) {
            assertEquals(41, l.handledUpTo());
            assertEquals(9, l.validity());
        }
    }

    /** Many entries of every kind, closed and opened again: the same answers to every question. */
    @Test
    public void reopeningAfterCloseGivesTheSameAnswers() throws Exception {
        List<String> uids = new ArrayList<>();
        for (int i = 0; i < 3000; i++) {
            uids.add(String.format("%08X5f3e2a1%d", i, i % 10));
        }
        Instant t1 = t0.plus(Duration.ofHours(1));
        List<String> before;
        try (Ledger l = open(t0)) {
            for (int i = 0; i < uids.size(); i += 64) {
                Map<String, Long> batch = new LinkedHashMap<>();
                for (String u : uids.subList(i, Math.min(uids.size(), i + 64))) {
                    l.intend(u, 4096, "x" + u, List.of("alice"));
                    batch.put(u, 4096L + u.length());
                }
                l.stored(batch, t0);
            }
            l.refresh(uids.subList(1, uids.size()), t1, Duration.ofDays(30));
            l.deleted(uids.get(2), t1);
            l.oversized("big", 9_000_000, t1);
            l.handledUpTo(3000);
            before = dump(l, uids);
        }
        try (Ledger l = open(t1)) {
            assertEquals(before, dump(l, uids));
        }
    }

    /** Every entry as a line, for comparing two ledgers. */
    static List<String> dump(Ledger l, List<String> uids) {
        List<String> out = new ArrayList<>();
        for (String u : uids) {
            out.add(u + " " + l.get(u) + " " + l.collectedAt(u, -1));
        }
        out.add("oversized " + l.oversized());
        out.add("validity " + l.validity() + " mark " + l.handledUpTo() + " size " + l.size());
        return out;
    }

    private static <T extends Comparable<? super T>> List<T> sorted(List<T> list) {
        List<T> out = new ArrayList<>(list);
        java.util.Collections.sort(out);
        return out;
    }

    private static List<Ledger.Oversized> byUid(List<Ledger.Oversized> list) {
        List<Ledger.Oversized> out = new ArrayList<>(list);
        out.sort(java.util.Comparator.comparing(Ledger.Oversized::uid));
        return out;
    }

    static List<String> names(Path dir) throws Exception {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (var s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}

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
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import io.uplink.mail.internal.store.Maildir;

public class UidLedgerTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private final Instant t0 = Instant.parse("2026-01-01T00:00:00Z");

    @Test
    public void survivesReopeningAndIgnoresATornLastLine() throws Exception {
        Path file = tmp.getRoot().toPath().resolve("state/c.uidl");
        Files.createDirectories(file.getParent());
        try (UidLedger l = UidLedger.open(file, t0, p -> false)) {
            l.stored("a b%c", 10, t0);
            l.stored("x", 20, t0);
        }
        Files.writeString(file, "S half", StandardOpenOption.APPEND);
        try (UidLedger l = UidLedger.open(file, t0, p -> false)) {
            assertEquals(10, l.get("a b%c").size());
            assertEquals(20, l.get("x").size());
            assertEquals(2, l.size());
        }
    }

    /** The crash states of one message routed to alice and bob, settled on the next open. */
    @Test
    public void aMessageInNoMailboxIsNotDeliveredAndItsTempFilesAreRemoved() throws Exception {
        Path root = tmp.getRoot().toPath();
        String unique = Maildir.uniqueName();
        Path file = pending(root, "u1", unique);
        Files.writeString(root.resolve("mailboxes/alice/tmp/" + unique), "half");
        Files.writeString(root.resolve("mailboxes/bob/tmp/" + unique), "ha");
        try (UidLedger l = UidLedger.open(file, t0, Ledger.inMailboxes(root.resolve("mailboxes")))) {
            assertNull("in no mailbox: collected again", l.get("u1"));
        }
        for (String mb : List.of("alice", "bob")) {
            assertEquals(mb, List.of(), names(root.resolve("mailboxes/" + mb + "/tmp")));
            assertEquals(mb, List.of(), names(root.resolve("mailboxes/" + mb + "/new")));
        }
    }

    @Test
    public void aMissingMailboxFolderIsCreatedForTheRepair() throws Exception {
        Path root = tmp.getRoot().toPath();
        String unique = Maildir.uniqueName();
        Path file = root.resolve("state/c.uidl");
        Files.createDirectories(file.getParent());
        try (UidLedger l = UidLedger.open(file, t0, p -> false)) {
            l.intend("u1", BODY.length, unique, List.of("alice", "bob"));
        }
        Maildir.open(root.resolve("mailboxes/alice")).deliver(unique, out -> out.write(BODY), true);
        try (UidLedger l = UidLedger.open(file, t0, Ledger.inMailboxes(root.resolve("mailboxes")))) {
            assertNotNull(l.get("u1"));
        }
        assertEquals(1, names(root.resolve("mailboxes/bob/new")).size());
    }

    @Test
    public void aCopyAReaderMovedToCurWithFlagsCountsAndIsTheSourceOfTheRepair() throws Exception {
        Path root = tmp.getRoot().toPath();
        String unique = Maildir.uniqueName();
        Path file = pending(root, "u1", unique);
        Path done = Maildir.open(root.resolve("mailboxes/alice")).deliver(unique, out -> out.write(BODY), true);
        // a Maildir reader (Dovecot, mutt) moved it to cur/ and added its size and flags to the name
        Path moved = root.resolve("mailboxes/alice/cur/" + done.getFileName() + ",W=" + (BODY.length + 2) + ":2,S");
        Files.move(done, moved);
        try (UidLedger l = UidLedger.open(file, t0, Ledger.inMailboxes(root.resolve("mailboxes")))) {
            assertNotNull(l.get("u1"));
        }
        assertTrue(Maildir.open(root.resolve("mailboxes/alice")).holds(unique));
        assertEquals("nothing new for alice: her copy is in cur/", List.of(), names(root.resolve("mailboxes/alice/new")));
        List<String> bob = names(root.resolve("mailboxes/bob/new"));
        assertEquals(1, bob.size());
        assertArrayEquals(BODY, Files.readAllBytes(root.resolve("mailboxes/bob/new/" + bob.get(0))));
    }

    @Test
    public void aMessageInAllItsMailboxesIsDeliveredAndNothingIsAdded() throws Exception {
        Path root = tmp.getRoot().toPath();
        String unique = Maildir.uniqueName();
        Path file = pending(root, "u1", unique);
        for (String mb : List.of("alice", "bob")) {
            Maildir.open(root.resolve("mailboxes/" + mb)).deliver(unique, out -> out.write(BODY), false);
        }
        try (UidLedger l = UidLedger.open(file, t0, Ledger.inMailboxes(root.resolve("mailboxes")))) {
            assertNotNull(l.get("u1"));
        }
        for (String mb : List.of("alice", "bob")) {
            assertEquals(mb, 1, names(root.resolve("mailboxes/" + mb + "/new")).size());
        }
    }

    @Test
    public void aKillDuringTheRepairIsRepairedAgainWithoutASecondCopy() throws Exception {
        Path root = tmp.getRoot().toPath();
        String unique = Maildir.uniqueName();
        Path file = pending(root, "u1", unique);
        Maildir.open(root.resolve("mailboxes/alice")).deliver(unique, out -> out.write(BODY), true);
        Path ledgerBefore = root.resolve("before.uidl");
        Files.copy(file, ledgerBefore);
        try (UidLedger l = UidLedger.open(file, t0, Ledger.inMailboxes(root.resolve("mailboxes")))) {
            assertNotNull(l.get("u1"));
        }
        // as if the kill came after bob's copy was renamed into new/ but before the ledger was rewritten
        Files.copy(ledgerBefore, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.writeString(root.resolve("mailboxes/bob/tmp/" + unique), "left over");
        try (UidLedger l = UidLedger.open(file, t0, Ledger.inMailboxes(root.resolve("mailboxes")))) {
            assertNotNull(l.get("u1"));
        }
        for (String mb : List.of("alice", "bob")) {
            assertEquals(mb, 1, names(root.resolve("mailboxes/" + mb + "/new")).size());
            assertEquals(mb, List.of(), names(root.resolve("mailboxes/" + mb + "/tmp")));
        }
    }

    private static final byte[] BODY = "To: alice@office.test\r\nCc: bob@office.test\r\nSubject: both\r\n\r\nhello\r\n"
            .getBytes(StandardCharsets.US_ASCII);

    /** A ledger with one P line for {@code uid} routed to alice and bob, whose Maildirs exist (empty). */
    private Path pending(Path root, String uid, String unique) throws Exception {
        Maildir.open(root.resolve("mailboxes/alice"));
        Maildir.open(root.resolve("mailboxes/bob"));
        Path file = root.resolve("state/c.uidl");
        Files.createDirectories(file.getParent());
        try (UidLedger l = UidLedger.open(file, t0, p -> false)) {
            l.intend(uid, BODY.length, unique, List.of("alice", "bob"));
        }
        return file;
    }

    private static List<String> names(Path dir) throws Exception {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (var s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** Says where two dumps first differ (the whole of one is far too long for a message). */
    private static void same(String what, List<String> expected, List<String> actual) {
        for (int i = 0; i < Math.max(expected.size(), actual.size()); i++) {
            String e = i < expected.size() ? expected.get(i) : null;
            String a = i < actual.size() ? actual.get(i) : null;
            assertEquals(what + ", line " + i, e, a);
        }
    }

    private static List<String> uids(int n) {
        List<String> out = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(String.format("%08X5f3e2a1%d", i, i % 10));
        }
        return out;
    }

    @Test
    public void aFiringAppendsOnlyWhatChangedAndNeverRewritesTheFile() throws Exception {
        Path file = tmp.getRoot().toPath().resolve("state/c.uidl");
        List<String> uids = uids(2000);
        try (UidLedger l = UidLedger.open(file, t0, p -> false)) {
            for (String u : uids) {
                l.stored(u, 4096, t0);
            }
        }
        // the first open after a big collection compacts: P and S lines become one S line each
        try (UidLedger l = UidLedger.open(file, t0, p -> false)) {
            assertEquals(2000, l.size());
        }
        byte[] before = Files.readAllBytes(file);
        assertTrue("about 25 bytes per entry: " + before.length, before.length < 2000 * 30);
        Object inode = Files.getAttribute(file, "unix:ino");
        Instant t1 = t0.plus(Duration.ofHours(1));
        List<String> listing = new java.util.ArrayList<>(uids);
        listing.add("new-one");
        try (UidLedger l = UidLedger.open(file, t1, p -> false)) {
            l.refresh(listing, t1, Duration.ofDays(30));
            l.intend("new-one", 10, "unique", List.of("alice"));
            l.stored("new-one", 10, t1);
        }
        byte[] after = Files.readAllBytes(file);
        assertEquals("the same file, appended to", inode, Files.getAttribute(file, "unix:ino"));
        assertArrayEquals(before, java.util.Arrays.copyOf(after, before.length));
        assertEquals("L, P, T and S: " + new String(after, before.length, after.length - before.length, StandardCharsets.UTF_8),
                4, new String(after, before.length, after.length - before.length, StandardCharsets.UTF_8).split("\n").length);
        try (UidLedger l = UidLedger.open(file, t1, p -> false)) {
            assertEquals(2001, l.size());
            assertEquals(t1.toEpochMilli(), l.get("new-one").stored());
            assertEquals(t0.toEpochMilli(), l.get(uids.get(7)).stored());
        }
    }

    @Test
    public void theJournalIsCompactedAsEntriesExpireAndStaysBounded() throws Exception {
        Path file = tmp.getRoot().toPath().resolve("state/c.uidl");
        Duration week = Duration.ofDays(7);
        Instant t = t0;
        List<String> server = new java.util.ArrayList<>();
        long largest = 0;
        // a server that keeps 500 messages, 100 new each day and the oldest 100 deleted by someone else
        for (int day = 0; day < 60; day++) {
            t = t0.plus(Duration.ofDays(day));
            for (int k = 0; k < 100; k++) {
                server.add("d" + day + "m" + k);
            }
            while (server.size() > 500) {
                server.remove(0);
            }
            try (UidLedger l = UidLedger.open(file, t, p -> false)) {
                l.refresh(server, t, week);
                for (String u : server) {
                    if (l.get(u) == null) {
                        l.intend(u, 100, "x" + u, List.of("alice"));
                        l.stored(u, 100, t);
                    }
                }
            }
            largest = Math.max(largest, Files.size(file));
        }
        try (UidLedger l = UidLedger.open(file, t, p -> false)) {
            // what is on the server, plus what went missing within the week
            assertEquals(500 + 700, l.size());
            assertNotNull(l.get("d59m99"));
            assertNull("gone for more than a week: forgotten", l.get("d40m0"));
        }
        assertTrue("bounded by the live entries, not by the history: " + largest, largest < 200_000);
    }

    @Test
    public void aFormat1LedgerIsReadAndRewrittenInFormat2() throws Exception {
        Path root = tmp.getRoot().toPath();
        Path file = root.resolve("state/c.uidl");
        Files.createDirectories(file.getParent());
        long a = t0.toEpochMilli();
        long b = a + 1000;
        String unique = Maildir.uniqueName();
        Maildir.open(root.resolve("mailboxes/alice")).deliver(unique, out -> out.write(BODY), true);
        // as the code before format 2 wrote it: rewritten at each firing, then appended to
        Files.writeString(file, "L " + b + "\n"
                + "S kept 10 " + a + " " + b + "\n"
                + "S missing 20 " + a + " " + a + "\n"
                + "S deleted%20one 30 " + a + " " + b + " " + b + "\n"
                + "X big 9000000 " + a + "\n"
                + "P u1 " + BODY.length + " " + unique + " alice\n"
                + "D kept " + b + "\n");
        try (UidLedger l = UidLedger.open(file, t0.plusSeconds(5), Ledger.inMailboxes(root.resolve("mailboxes")))) {
            assertEquals(new UidLedger.Entry("kept", 10, a, b, b), l.get("kept"));
            assertEquals("missing from the last listing", new UidLedger.Entry("missing", 20, a, a, 0), l.get("missing"));
            assertEquals(new UidLedger.Entry("deleted one", 30, a, b, b), l.get("deleted one"));
            assertTrue(l.knownOversized("big", 9_000_000));
            assertNotNull("the pending delivery is settled", l.get("u1"));
            assertEquals(4, l.size());
        }
        assertTrue(Files.readString(file).startsWith(UidLedger.HEADER + "\n"));
        try (UidLedger l = UidLedger.open(file, t0.plusSeconds(5), p -> false)) {
            assertEquals(new UidLedger.Entry("kept", 10, a, b, b), l.get("kept"));
            assertEquals(a, l.get("missing").lastSeen());
            assertEquals(4, l.size());
            // and a listing that shows "missing" again treats it as the server reusing the UID, as before
            l.refresh(List.of("kept", "missing", "deleted one", "u1"), t0.plusSeconds(6), Duration.ofDays(30));
            assertNull(l.get("missing"));
        }
    }

    @Test
    public void aFormat1ImapLedgerKeepsItsUidValidity() throws Exception {
        Path file = tmp.getRoot().toPath().resolve("c.uidl");
        long a = t0.toEpochMilli();
        Files.writeString(file, "L " + a + "\nS 17/1 10 " + a + " " + a + "\nS 17/2 10 " + a + " " + a + "\n");
        try (UidLedger l = UidLedger.open(file, t0, p -> false)) {
            assertEquals(17, l.validity());
            assertEquals(0, l.handledUpTo());
            assertEquals(2, l.size());
        }
    }

    @Test
    public void aTornAppendIsCutOffSoTheNextRecordStandsOnItsOwnLine() throws Exception {
        Path file = tmp.getRoot().toPath().resolve("c.uidl");
        try (UidLedger l = UidLedger.open(file, t0, p -> false)) {
            l.stored("a", 10, t0);
        }
        // killed in the middle of "S b 4096\n": without its newline the record never became true
        Files.writeString(file, "S b 40", StandardOpenOption.APPEND);
        try (UidLedger l = UidLedger.open(file, t0, p -> false)) {
            assertNull(l.get("b"));
            l.stored("c", 30, t0);
        }
        try (UidLedger l = UidLedger.open(file, t0, p -> false)) {
            assertNull(l.get("b"));
            assertEquals(30, l.get("c").size());
            assertEquals(2, l.size());
        }
    }

    /**
     * A kill at each step of a compaction (the temp file half written, written, forced, renamed over the
     * journal, the directory forced): the files as the kill leaves them open to the same entries, with no
     * temp file left behind, and the next firing's records are kept.
     */
    @Test
    public void aKillAtEveryStepOfACompactionLeavesTheSameEntries() throws Exception {
        Path root = tmp.getRoot().toPath();
        Path file = root.resolve("live/state/c.uidl");
        List<String> uids = uids(8000);
        Instant t1 = t0.plus(Duration.ofHours(1));
        try (UidLedger l = UidLedger.open(file, t0, p -> false)) {
            for (String u : uids) {
                l.intend(u, 4096, "x", List.of("alice"));
                l.stored(u, 4096, t0);
            }
            l.refresh(uids.subList(1, uids.size()), t1, Duration.ofDays(30));
            l.deleted(uids.get(2), t1);
            l.oversized("big", 9_000_000, t1);
            l.handledUpTo(8000);
        }
        List<String> expected;
        try (UidLedger l = UidLedger.open(file, t1, p -> false)) {
            // this open compacted (the journal holds two records per entry); the compaction below repeats it
            expected = LedgerContract.dump(l, uids);
        }
        // make the journal grow again so that the next open compacts: a format 1 copy of it does
        List<String> old = new java.util.ArrayList<>();
        try (UidLedger l = UidLedger.open(file, t1, p -> false)) {
            for (String u : uids) {
                UidLedger.Entry e = l.get(u);
                old.add("S " + u + " " + e.size() + " " + e.stored() + " " + e.lastSeen()
                        + (e.deletedOnServer() ? " " + e.deleted() : ""));
            }
        }
        Files.write(file, (String.join("\n", old) + "\nL " + t1.toEpochMilli() + "\nX big 9000000 " + t1.toEpochMilli()
                + "\nH 8000\n").getBytes(StandardCharsets.UTF_8));
        List<String> steps = new java.util.ArrayList<>();
        try (UidLedger l = UidLedger.open(file, t1, p -> false, step -> {
            steps.add(step);
            copy(root.resolve("live"), root.resolve("kill-at-" + step));
        })) {
            same("the compacting open", expected, LedgerContract.dump(l, uids));
        }
        assertEquals(List.of("temp-partial", "temp-written", "temp-forced", "renamed", "directory-forced"), steps);
        for (String step : steps) {
            Path copy = root.resolve("kill-at-" + step + "/state/c.uidl");
            try (UidLedger l = UidLedger.open(copy, t1, p -> false)) {
                same(step, expected, LedgerContract.dump(l, uids));
                l.stored("after", 1, t1);
            }
            assertFalse(step + ": no temp file is left", Files.exists(copy.resolveSibling("c.uidl.tmp")));
            try (UidLedger l = UidLedger.open(copy, t1, p -> false)) {
                assertNotNull(step, l.get("after"));
                assertEquals(step, expected.size(), LedgerContract.dump(l, uids).size());
                assertEquals(step, 8001, l.size());
            }
        }
    }

    private static void copy(Path from, Path to) throws java.io.IOException {
        try (var s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
    }
}

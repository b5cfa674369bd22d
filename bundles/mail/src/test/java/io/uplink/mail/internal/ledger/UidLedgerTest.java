package io.uplink.mail.internal.ledger;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayInputStream;
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

    @Test
    public void aDeliveryAKillInterruptedIsSettledByLookingIntoTheMailbox() throws Exception {
        Path root = tmp.getRoot().toPath();
        Path mailboxes = root.resolve("mailboxes");
        Maildir alice = Maildir.open(mailboxes.resolve("alice"));
        Path file = root.resolve("state/c.uidl");
        Files.createDirectories(file.getParent());
        String done = Maildir.uniqueName();
        String lost = Maildir.uniqueName();
        try (UidLedger l = UidLedger.open(file, t0, p -> false)) {
            l.intend("u1", 5, done, List.of("alice"));
            alice.deliver(done, out -> new ByteArrayInputStream("hello".getBytes(StandardCharsets.US_ASCII)).transferTo(out), true);
            l.intend("u2", 5, lost, List.of("alice"));
            // killed here: u1's file is in new/ but no S line; u2 never got its file
        }
        Files.writeString(root.resolve("mailboxes/alice/tmp/" + lost), "half");
        try (UidLedger l = UidLedger.open(file, t0, UidLedger.inMailboxes(mailboxes))) {
            assertNotNull("u1 is in the mailbox, so it counts as collected", l.get("u1"));
            assertNull("u2 never arrived, so it is collected again", l.get("u2"));
        }
        assertFalse("the half-written temp file is cleaned up", Files.exists(root.resolve("mailboxes/alice/tmp/" + lost)));
        assertTrue(alice.holds(done));
    }

    /** The crash states of one message routed to alice and bob, settled on the next open. */
    @Test
    public void aMessageInNoMailboxIsNotDeliveredAndItsTempFilesAreRemoved() throws Exception {
        Path root = tmp.getRoot().toPath();
        String unique = Maildir.uniqueName();
        Path file = pending(root, "u1", unique);
        Files.writeString(root.resolve("mailboxes/alice/tmp/" + unique), "half");
        Files.writeString(root.resolve("mailboxes/bob/tmp/" + unique), "ha");
        try (UidLedger l = UidLedger.open(file, t0, UidLedger.inMailboxes(root.resolve("mailboxes")))) {
            assertNull("in no mailbox: collected again", l.get("u1"));
        }
        for (String mb : List.of("alice", "bob")) {
            assertEquals(mb, List.of(), names(root.resolve("mailboxes/" + mb + "/tmp")));
            assertEquals(mb, List.of(), names(root.resolve("mailboxes/" + mb + "/new")));
        }
    }

    @Test
    public void aMessageInOneOfItsMailboxesIsCopiedToTheOtherOnceAndThenDelivered() throws Exception {
        Path root = tmp.getRoot().toPath();
        String unique = Maildir.uniqueName();
        Path file = pending(root, "u1", unique);
        Path done = Maildir.open(root.resolve("mailboxes/alice")).deliver(unique, out -> out.write(BODY), true);
        // bob's copy was still being written when the kill came
        Files.writeString(root.resolve("mailboxes/bob/tmp/" + unique), "Subject: half");
        try (UidLedger l = UidLedger.open(file, t0, UidLedger.inMailboxes(root.resolve("mailboxes")))) {
            assertNotNull("in every mailbox after the repair: delivered", l.get("u1"));
        }
        List<String> bob = names(root.resolve("mailboxes/bob/new"));
        assertEquals("bob gets exactly one copy, under the same unique name", List.of(done.getFileName().toString()), bob);
        assertArrayEquals(BODY, Files.readAllBytes(root.resolve("mailboxes/bob/new/" + bob.get(0))));
        assertEquals(List.of(), names(root.resolve("mailboxes/bob/tmp")));
        assertEquals(List.of(done.getFileName().toString()), names(root.resolve("mailboxes/alice/new")));
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
        try (UidLedger l = UidLedger.open(file, t0, UidLedger.inMailboxes(root.resolve("mailboxes")))) {
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
        try (UidLedger l = UidLedger.open(file, t0, UidLedger.inMailboxes(root.resolve("mailboxes")))) {
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
        try (UidLedger l = UidLedger.open(file, t0, UidLedger.inMailboxes(root.resolve("mailboxes")))) {
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
        try (UidLedger l = UidLedger.open(file, t0, UidLedger.inMailboxes(root.resolve("mailboxes")))) {
            assertNotNull(l.get("u1"));
        }
        // as if the kill came after bob's copy was renamed into new/ but before the ledger was rewritten
        Files.copy(ledgerBefore, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.writeString(root.resolve("mailboxes/bob/tmp/" + unique), "left over");
        try (UidLedger l = UidLedger.open(file, t0, UidLedger.inMailboxes(root.resolve("mailboxes")))) {
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

    @Test
    public void entriesGoneFromTheServerForTheExpiryTimeAreDroppedButNotWhenNobodyLooked() throws Exception {
        Path file = tmp.getRoot().toPath().resolve("c.uidl");
        Duration week = Duration.ofDays(7);
        try (UidLedger l = UidLedger.open(file, t0, p -> false)) {
            l.stored("kept", 1, t0);
            l.stored("gone", 1, t0);
            l.refresh(List.of("kept", "gone"), t0, week);
            // a month without a run: nothing is known to be gone, nothing is dropped
            l.refresh(List.of("kept", "gone"), t0.plus(Duration.ofDays(30)), week);
            assertEquals(2, l.size());
            l.refresh(List.of("kept"), t0.plus(Duration.ofDays(31)), week);
            assertNotNull(l.get("gone"));
            l.refresh(List.of("kept"), t0.plus(Duration.ofDays(39)), week);
            assertNull(l.get("gone"));
            assertNotNull(l.get("kept"));
        }
        try (UidLedger l = UidLedger.open(file, t0, p -> false)) {
            assertEquals(1, l.size());
        }
    }

    @Test
    public void oversizedMessagesAreKeptUntilGoneFromTheServerOrStored() throws Exception {
        Path file = tmp.getRoot().toPath().resolve("state/c.uidl");
        Files.createDirectories(file.getParent());
        try (UidLedger l = UidLedger.open(file, t0, p -> false)) {
            l.oversized("big 1", 5_000_000, t0);
            l.oversized("big2", 6_000_000, t0);
            l.oversized("big3", 7_000_000, t0);
            assertTrue(l.knownOversized("big 1", 5_000_000));
            assertFalse("another size is another message", l.knownOversized("big 1", 5_000_001));
        }
        assertEquals(List.of(new UidLedger.Oversized("big 1", 5_000_000, t0.toEpochMilli()),
                new UidLedger.Oversized("big2", 6_000_000, t0.toEpochMilli()),
                new UidLedger.Oversized("big3", 7_000_000, t0.toEpochMilli())), UidLedger.readOversized(file));
        Instant t1 = t0.plus(Duration.ofHours(1));
        try (UidLedger l = UidLedger.open(file, t1, p -> false)) {
            assertTrue("survives reopening", l.knownOversized("big2", 6_000_000));
            l.refresh(List.of("big2", "big3"), t1, Duration.ofDays(30));
            l.stored("big3", 7_000_000, t1);
        }
        try (UidLedger l = UidLedger.open(file, t1, p -> false)) {
            assertEquals("gone from the server, or stored after all: no longer mentioned",
                    List.of(new UidLedger.Oversized("big2", 6_000_000, t0.toEpochMilli())), l.oversized());
        }
    }
}

package io.uplink.mail.internal.ledger;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.uplink.mail.internal.store.Maildir;

/**
 * The UID ledger of one collector, as a collection uses it: which server messages are already stored, so nothing
 * is collected twice, and which deliveries are under way, so a crash neither loses nor duplicates a message. Two
 * stores keep it: a journal file on a single node ({@link UidLedger}) and PostgreSQL in a cluster
 * ({@link JdbcLedger}); {@link LedgerStore} opens one for a collector. Like Quartz's {@code JobStore}, the
 * collection never knows which one it runs on.
 *
 * <p>The order a collection keeps: {@link #intend} before a delivery starts, {@link #stored} once the delivery is
 * durable, {@link #sync} before anything is deleted on the server, {@link #deleted} once the server confirmed it.
 * A write may fail with an {@link IOException} (in a cluster a {@link io.uplink.api.cluster.FencedException}: the
 * firing lost its fence); the collection then stops and deletes nothing.
 */
public interface Ledger extends Closeable {

    /** One message the collector has stored. */
    record Entry(String uid, long size, long stored, long lastSeen, long deleted) {
        /** Whether the server confirmed deleting it (so the UID showing up again is a new message). */
        public boolean deletedOnServer() {
            return deleted > 0;
        }
    }

    /**
     * A message left on the server because it is larger than {@code maxMessageSize}.
     *
     * @param seen when a firing first saw it (epoch millis)
     */
    record Oversized(String uid, long size, long seen) {
        /** How a status shows it. */
        public String describe(long maxMessageSize) {
            return "message " + uid + " (" + size + " bytes) is larger than maxMessageSize"
                    + (maxMessageSize > 0 ? " (" + maxMessageSize + " bytes)" : "") + "; left on the server since "
                    + Instant.ofEpochMilli(seen);
        }
    }

    /** A delivery that was under way when the last run ended. */
    record Pending(String uid, long size, String unique, List<String> mailboxes) {
    }

    /** Tells whether a pending delivery completed (its file is in every mailbox it was routed to). */
    @FunctionalInterface
    interface Settle {
        boolean delivered(Pending pending) throws IOException;
    }

    /**
     * The server's full list (POP3), taken in one message at a time as it is read, so that a list of 100,000
     * known messages makes no object per message; then {@link #finish} does what {@link #refresh} does.
     */
    interface Listing {
        /**
         * One listed message. Returns when it was stored if it is ours, as {@link #collectedAt} will answer
         * after {@link #finish}; -1 for a new message (also a UID that is back after missing from a listing:
         * the server reuses it). {@code uid} is only read during the call.
         */
        long seen(CharSequence uid, long size);

        /** Ends the listing: forgets, notes as missing and drops entries as {@link #refresh} says. Not forced. */
        void finish(Instant now, Duration expiry) throws IOException;
    }

    /** The entry for a UID, or {@code null}. */
    Entry get(String uid);

    /**
     * When {@code uid} was stored, if it is ours: known, not deleted on the server, and of this size (a size
     * below 0 is unknown and matches). Otherwise -1: a new message, or the server reusing the UID.
     */
    long collectedAt(String uid, long size);

    /** How many entries the ledger holds. */
    int size();

    /**
     * Takes in the server's full list (POP3): forgets UIDs that were missing from the last listing and are
     * back (the server reuses them for new messages), notes those that are missing now, drops entries gone
     * from the server for longer than {@code expiry}. Records only what changed.
     */
    default void refresh(java.util.Collection<String> onServer, Instant now, Duration expiry) throws IOException {
        Listing listing = listing();
        for (String uid : onServer) {
            listing.seen(uid, -1);
        }
        listing.finish(now, expiry);
    }

    /** Starts taking in the server's full list one message at a time (see {@link Listing}). */
    Listing listing();

    /** IMAP: the UIDVALIDITY the entries are keyed under (0: none yet). */
    long validity();

    /** IMAP: every UID up to this one has been handled (stored or recorded as too large). */
    long handledUpTo();

    /** IMAP: the folder has this UIDVALIDITY now; entries keyed under another one are void. */
    void validity(long validity) throws IOException;

    /** IMAP: every UID up to {@code uid} has been handled. Not forced. */
    void handledUpTo(long uid) throws IOException;

    /**
     * IMAP: the live entries under {@code prefix} (UIDVALIDITY/) stored for at least {@code keep} and not
     * yet deleted on the server, found without asking the server for its whole list.
     */
    List<String> due(String prefix, Duration keep, Instant now);

    /**
     * IMAP, which never gives a UID twice under one UIDVALIDITY: forgets entries the server confirmed
     * deleting more than {@code expiry} ago. Not forced.
     */
    void forgetDeleted(Instant now, Duration expiry) throws IOException;

    /** Whether {@code uid} of this size was already recorded as too large (and so already reported). */
    boolean knownOversized(String uid, long size);

    /** Records that {@code uid} was left on the server for its size. Not forced. */
    void oversized(String uid, long size, Instant now) throws IOException;

    /** The messages left on the server for their size. */
    List<Oversized> oversized();

    /**
     * Records that {@code uid} is about to be delivered as Maildir file {@code unique} into {@code mailboxes}.
     * Recorded before the file can appear in a mailbox, so that a crash is settled from the Maildirs; not forced.
     */
    void intend(String uid, long size, String unique, List<String> mailboxes) throws IOException;

    /** Records that {@code uid} is durably stored. Not forced: call {@link #sync()} before deleting it. */
    void stored(String uid, long size, Instant now) throws IOException;

    /**
     * Records that the messages of one batch ({@code uid} to size, in order) are durably stored, together (one
     * write, one transaction). Not forced.
     */
    void stored(Map<String, Long> batch, Instant now) throws IOException;

    /** Records that the server confirmed deleting {@code uid}. Not forced. */
    void deleted(String uid, Instant now) throws IOException;

    /** Records that the server confirmed deleting each of {@code uids}, together (one write). Not forced. */
    void deleted(List<String> uids, Instant now) throws IOException;

    /** Makes everything recorded so far durable; nothing is deleted on the server before this returned. */
    void sync() throws IOException;

    /**
     * Settles a pending delivery by looking into every mailbox it was routed to. Each mailbox's copy is
     * completed on its own, so a crash can leave the file in some of them only:
     * <ul>
     * <li>in none: not delivered (what is left in {@code tmp/} is removed); the message is collected again;</li>
     * <li>in some: the missing copies are delivered now, from a copy that is there (same unique name, file
     * and directory forced), and then it is delivered;</li>
     * <li>in all: delivered.</li>
     * </ul>
     * The directories holding the copies are forced before the answer, because the crash may have come
     * between a rename and the directory's fsync. A kill during this repair leaves the pending record in
     * place, so the next open simply repeats it; the unique name keeps any mailbox from getting two copies.
     * In a cluster the Maildir root is shared, so any node can settle what another node left pending.
     */
    static Settle inMailboxes(Path mailboxesRoot) {
        return p -> {
            Map<String, Path> held = new LinkedHashMap<>();
            List<String> missing = new ArrayList<>();
            for (String mb : p.mailboxes()) {
                Path dir = mailboxesRoot.resolve(mb);
                Path copy = null;
                if (Files.isDirectory(dir.resolve("new"))) {
                    Maildir m = Maildir.open(dir);
                    copy = m.find(p.unique());
                    if (copy != null) {
                        m.syncAll();
                        m.discardTemporary(p.unique());
                    }
                }
                if (copy != null) {
                    held.put(mb, copy);
                } else {
                    missing.add(mb);
                }
            }
            if (held.isEmpty()) {
                for (String mb : missing) {
                    Path dir = mailboxesRoot.resolve(mb);
                    if (Files.isDirectory(dir.resolve("tmp"))) {
                        Maildir.open(dir).discardTemporary(p.unique());
                    }
                }
                return false;
            }
            Path source = held.values().iterator().next();
            for (String mb : missing) {
                Maildir.open(mailboxesRoot.resolve(mb)).restore(p.unique(), source);
            }
            return true;
        };
    }
}

package io.uplink.mail.internal.ledger;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import javax.sql.DataSource;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.uplink.api.cluster.Fence;
import io.uplink.api.cluster.FencedException;
import io.uplink.api.mail.TaskContext;

/**
 * The cluster's store of the UID ledger: one row per (collector, UID) in {@code uplink_ledger} and one row per
 * collector in {@code uplink_ledger_meta} (see {@link JdbcLedgers} for the schema). The collector's rows are read
 * into memory when the ledger is opened, as the file store reads its journal, so a listing of 100,000 known
 * messages asks the database nothing.
 *
 * <p>Every write is a transaction committed through the firing's {@link Fence}, on the session that holds the
 * connection's advisory lock: a node that lost its lock can record nothing, and since the collection deletes on
 * the server only after {@link #sync()}, it deletes nothing either. Writes follow the file store's batching:
 * <ul>
 * <li>{@link #intend} commits at once (one row, state {@code pending}): it must be in the database before the
 * message's file can appear in a Maildir, so that whichever node opens the ledger next can settle it;</li>
 * <li>{@link #stored(Map, Instant)} commits a batch in one transaction (one statement), {@link #stored(String, long,
 * Instant)} one message;</li>
 * <li>the rest ({@link #deleted}, a listing's missing and forgotten UIDs, {@link #oversized}, the IMAP mark) is
 * changed in memory and written with the next commit or at {@link #sync()}: a later firing derives it again;</li>
 * <li>those commits are asynchronous ({@code synchronous_commit = off}): visible to every node at once and kept
 * when this node dies, as the file store's unforced lines are kept in the page cache when the process dies;
 * {@link #sync()} commits synchronously, which makes everything before it durable too (the WAL is one sequence).
 * So a database crash, like a power cut under the file store, can lose only what no deletion relied on.</li>
 * </ul>
 * Compaction is deleting rows: forgotten UIDs and entries under an old UIDVALIDITY are deleted as they go.
 *
 * <p>While a ledger is open its collector is locked cluster-wide (a second advisory lock on the fenced session),
 * so two firings of different connections that share a collector never collect it at once on two nodes; a run
 * waits for the other one, as it does on a single node. The lock goes with the session, so a takeover node gets it
 * as soon as the dead node's session is gone, and then settles the dead node's pending rows from the shared
 * Maildirs before it collects.
 */
public final class JdbcLedger extends TableLedger<TableLedger.Memory> {

    private static final Logger LOG = LoggerFactory.getLogger(JdbcLedger.class);
    /** How often a run waiting for its collector asks for the lock again. */
    private static final Duration LOCK_POLL = Duration.ofMillis(500);
    /** The collector's lock: the two-key form of the advisory lock, whose key space no single-key lock shares. */
    private static final String LOCK_KEYS = "hashtext('uplink_ledger'), hashtext(?)";
    private static final String TS = "'epoch'::timestamptz + %s * interval '1 millisecond'";
    private static final String MS = "(extract(epoch from %s) * 1000)::bigint";

    private static final String UPSERT = "INSERT INTO uplink_ledger AS l (collector, uid, state, size, stored_at, gone_at,"
            + " deleted_at, seen_at, unique_name, mailboxes) SELECT ?, x.uid, x.state, x.size, " + ts("x.stored") + ", "
            + ts("x.gone") + ", " + ts("x.deleted") + ", " + ts("x.seen") + ", NULL, NULL"
            + " FROM unnest(?::text[], ?::text[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[])"
            + " AS x(uid, state, size, stored, gone, deleted, seen)"
            + " ON CONFLICT (collector, uid) DO UPDATE SET state = excluded.state, size = excluded.size,"
            + " stored_at = excluded.stored_at, gone_at = excluded.gone_at, deleted_at = excluded.deleted_at,"
            + " seen_at = excluded.seen_at, unique_name = NULL, mailboxes = NULL";
    private static final String INTEND = "INSERT INTO uplink_ledger (collector, uid, state, size, unique_name, mailboxes)"
            + " VALUES (?, ?, 'pending', ?, ?, ?) ON CONFLICT (collector, uid) DO UPDATE SET state = 'pending',"
            + " size = excluded.size, stored_at = NULL, gone_at = NULL, deleted_at = NULL, seen_at = NULL,"
            + " unique_name = excluded.unique_name, mailboxes = excluded.mailboxes";

    private final Fence fence;
    private final String collector;
    /** UIDs whose row must be written from memory (or deleted) with the next commit. */
    private final Set<String> dirty = new LinkedHashSet<>();
    /** UIDs intended in this run and not stored yet: their pending rows are left as they are. */
    private final Set<String> intended = new HashSet<>();
    private boolean metaDirty;
    /** Whether an asynchronous commit was made since the last synchronous one. */
    private boolean unforced;
    private boolean locked;

    private JdbcLedger(Fence fence, String collector, Memory s) {
        super(s);
        this.fence = fence;
        this.collector = collector;
    }

    private static String ts(String millis) {
        return String.format(TS, millis);
    }

    private static String ms(String column) {
        return String.format(MS, column);
    }

    /**
     * Locks the collector (waiting while another firing collects it), reads its rows through {@code reads}, and
     * settles the deliveries that an earlier run, on this node or another, left pending.
     */
    static JdbcLedger open(DataSource reads, Fence fence, String collector, TaskContext context, Instant now,
            Settle settle) throws IOException {
        JdbcLedger ledger = new JdbcLedger(fence, collector, new Memory());
        ledger.lock(context);
        try {
            List<Pending> pending = ledger.load(reads);
            ledger.settle(pending, now, settle);
            return ledger;
        } catch (IOException | RuntimeException e) {
            ledger.unlock();
            throw e;
        }
    }

    private void lock(TaskContext context) throws IOException {
        boolean told = false;
        while (true) {
            boolean got = fence.commit(c -> {
                try (PreparedStatement st = c.prepareStatement("SELECT pg_try_advisory_lock(" + LOCK_KEYS + ")")) {
                    st.setString(1, collector);
                    try (ResultSet rs = st.executeQuery()) {
                        rs.next();
                        return rs.getBoolean(1);
                    }
                }
            });
            if (got) {
                locked = true;
                return;
            }
            if (!context.linkUp() || context.timeLeft().map(t -> t.compareTo(LOCK_POLL) <= 0).orElse(false)) {
                throw new IOException("collector '" + collector + "' is being collected by another firing in the cluster;"
                        + " it is collected at the next firing");
            }
            if (!told) {
                LOG.info("collector '{}': another firing in the cluster collects it; waiting for it to end", collector);
                told = true;
            }
            try {
                Thread.sleep(LOCK_POLL.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while waiting for collector '" + collector + "'");
            }
        }
    }

    private void unlock() {
        if (!locked) {
            return;
        }
        locked = false;
        try {
            fence.commit(c -> {
                try (PreparedStatement st = c.prepareStatement("SELECT pg_advisory_unlock(" + LOCK_KEYS + ")")) {
                    st.setString(1, collector);
                    st.execute();
                }
                return null;
            });
        } catch (FencedException e) {
            // the session is gone, and its locks with it
            LOG.debug("collector '{}': unlocking: {}", collector, e.toString());
        }
    }

    /** Reads the meta row and the collector's rows; returns the pending ones. */
    private List<Pending> load(DataSource reads) throws IOException {
        List<Pending> pending = new ArrayList<>();
        s.table = new UidTable(1024);
        try (Connection c = reads.getConnection()) {
            c.setAutoCommit(false);
            c.setReadOnly(true);
            try (PreparedStatement st = c.prepareStatement("SELECT uidvalidity, handled_up_to, " + ms("listed_at")
                    + " FROM uplink_ledger_meta WHERE collector = ?")) {
                st.setString(1, collector);
                try (ResultSet rs = st.executeQuery()) {
                    if (rs.next()) {
                        s.validity = rs.getLong(1);
                        s.watermark = rs.getLong(2);
                        s.listing = rs.getLong(3);
                    }
                }
            }
            String prefix = s.validity + "/";
            try (PreparedStatement st = c.prepareStatement("SELECT uid, state, size, " + ms("stored_at") + ", "
                    + ms("gone_at") + ", " + ms("deleted_at") + ", " + ms("seen_at") + ", unique_name, mailboxes"
                    + " FROM uplink_ledger WHERE collector = ?")) {
                st.setFetchSize(10_000);
                st.setString(1, collector);
                try (ResultSet rs = st.executeQuery()) {
                    while (rs.next()) {
                        String uid = rs.getString(1);
                        String state = rs.getString(2);
                        long size = rs.getLong(3);
                        if (state.equals("pending")) {
                            Array boxes = rs.getArray(9);
                            pending.add(new Pending(uid, size, rs.getString(8), List.of((String[]) boxes.getArray())));
                        } else if (s.validity != 0 && !uid.startsWith(prefix)) {
                            // void under the folder's UIDVALIDITY: deleted with the next commit
                            dirty.add(uid);
                        } else if (state.equals("oversized")) {
                            s.oversized.put(uid, new Oversized(uid, size, rs.getLong(7)));
                        } else {
                            int i = s.table.put(escape(uid), size, rs.getLong(4));
                            s.table.gone(i, rs.getLong(5));
                            s.table.deleted(i, rs.getLong(6));
                        }
                    }
                }
            }
            c.commit();
        } catch (SQLException e) {
            throw new IOException("collector '" + collector + "': cannot read its ledger from the cluster's database: "
                    + e.getMessage(), e);
        }
        return pending;
    }

    /** Settles what an earlier run left pending, by looking into the (shared) Maildirs; one commit for all. */
    private void settle(List<Pending> pending, Instant now, Settle settle) throws IOException {
        if (pending.isEmpty()) {
            return;
        }
        List<String> done = new ArrayList<>();
        List<String> undone = new ArrayList<>();
        long t = now.toEpochMilli();
        for (Pending p : pending) {
            if (settle.delivered(p)) {
                done.add(p.uid());
                s.table.put(escape(p.uid()), p.size(), t);
                s.oversized.remove(p.uid());
            } else {
                undone.add(p.uid());
            }
        }
        commit(false, c -> {
            try (PreparedStatement st = c.prepareStatement("UPDATE uplink_ledger SET state = 'stored', stored_at = "
                    + ts("?") + ", unique_name = NULL, mailboxes = NULL WHERE collector = ? AND uid = ANY(?)"
                    + " AND state = 'pending'")) {
                st.setLong(1, t);
                st.setString(2, collector);
                st.setArray(3, c.createArrayOf("text", done.toArray()));
                st.executeUpdate();
            }
            try (PreparedStatement st = c.prepareStatement("DELETE FROM uplink_ledger WHERE collector = ? AND uid = ANY(?)"
                    + " AND state = 'pending'")) {
                st.setString(1, collector);
                st.setArray(2, c.createArrayOf("text", undone.toArray()));
                st.executeUpdate();
            }
            return null;
        });
        LOG.info("collector '{}': settled {} pending deliveries from the Maildirs: {} done, {} to collect again",
                collector, pending.size(), done.size(), undone.size());
    }

    /**
     * One transaction through the fence: first what memory holds that the database does not yet, then
     * {@code work}. {@code durable}: a synchronous commit (else asynchronous: visible at once, flushed by the WAL
     * writer within a fraction of a second, made durable by the next synchronous commit).
     */
    private <T> T commit(boolean durable, Fence.Work<T> work) throws FencedException {
        return commit(durable, false, work);
    }

    /** {@code workSetsAsync}: the work's first statement sets {@code synchronous_commit} itself (one round trip less). */
    private <T> T commit(boolean durable, boolean workSetsAsync, Fence.Work<T> work) throws FencedException {
        T result = fence.commit(c -> {
            if (!durable && !workSetsAsync) {
                try (Statement st = c.createStatement()) {
                    st.execute("SET LOCAL synchronous_commit TO off");
                }
            }
            flush(c);
            return work.run(c);
        });
        dirty.clear();
        metaDirty = false;
        unforced = !durable;
        return result;
    }

    /** Writes the changed rows from memory: the entry, else the oversized record, else nothing (deleted). */
    private void flush(Connection c) throws SQLException {
        if (metaDirty) {
            try (PreparedStatement st = c.prepareStatement("INSERT INTO uplink_ledger_meta (collector, uidvalidity,"
                    + " handled_up_to, listed_at) VALUES (?, ?, ?, " + ts("?") + ") ON CONFLICT (collector) DO UPDATE SET"
                    + " uidvalidity = excluded.uidvalidity, handled_up_to = excluded.handled_up_to,"
                    + " listed_at = excluded.listed_at")) {
                st.setString(1, collector);
                st.setLong(2, s.validity);
                st.setLong(3, s.watermark);
                if (s.listing > 0) {
                    st.setLong(4, s.listing);
                } else {
                    st.setNull(4, java.sql.Types.BIGINT);
                }
                st.executeUpdate();
            }
        }
        if (dirty.isEmpty()) {
            return;
        }
        int n = dirty.size();
        String[] uids = new String[n];
        String[] states = new String[n];
        Long[] sizes = new Long[n];
        Long[] stored = new Long[n];
        Long[] gone = new Long[n];
        Long[] deleted = new Long[n];
        Long[] seen = new Long[n];
        List<String> drop = new ArrayList<>();
        int k = 0;
        for (String uid : dirty) {
            if (intended.contains(uid)) {
                // its pending row stays until it is stored or settled
                continue;
            }
            Oversized o = s.oversized.get(uid);
            int i = o != null ? -1 : s.table.find(escape(uid));
            if (o != null) {
                uids[k] = uid;
                states[k] = "oversized";
                sizes[k] = o.size();
                seen[k] = o.seen();
                k++;
            } else if (i >= 0 && s.table.isLive(i)) {
                uids[k] = uid;
                long d = s.table.deleted(i);
                long g = s.table.gone(i);
                states[k] = d > 0 ? "deleted" : "stored";
                sizes[k] = s.table.size(i);
                stored[k] = s.table.stored(i);
                gone[k] = g > 0 ? g : null;
                deleted[k] = d > 0 ? d : null;
                k++;
            } else {
                drop.add(uid);
            }
        }
        if (k > 0) {
            try (PreparedStatement st = c.prepareStatement(UPSERT)) {
                st.setString(1, collector);
                st.setArray(2, c.createArrayOf("text", Arrays.copyOf(uids, k)));
                st.setArray(3, c.createArrayOf("text", Arrays.copyOf(states, k)));
                st.setArray(4, c.createArrayOf("bigint", Arrays.copyOf(sizes, k)));
                st.setArray(5, c.createArrayOf("bigint", Arrays.copyOf(stored, k)));
                st.setArray(6, c.createArrayOf("bigint", Arrays.copyOf(gone, k)));
                st.setArray(7, c.createArrayOf("bigint", Arrays.copyOf(deleted, k)));
                st.setArray(8, c.createArrayOf("bigint", Arrays.copyOf(seen, k)));
                st.executeUpdate();
            }
        }
        if (!drop.isEmpty()) {
            try (PreparedStatement st = c.prepareStatement("DELETE FROM uplink_ledger WHERE collector = ? AND uid = ANY(?)"
                    + " AND state <> 'pending'")) {
                st.setString(1, collector);
                st.setArray(2, c.createArrayOf("text", drop.toArray()));
                st.executeUpdate();
            }
        }
    }

    /** One round trip for the row and one for the commit: the per-message cost of the database store. */
    @Override
    public void intend(String uid, long size, String unique, List<String> mailboxes) throws IOException {
        boolean alone = dirty.isEmpty() && !metaDirty;
        commit(false, alone, c -> {
            try (PreparedStatement st = c.prepareStatement(alone ? "SET LOCAL synchronous_commit TO off; " + INTEND : INTEND)) {
                st.setString(1, collector);
                st.setString(2, uid);
                st.setLong(3, size);
                st.setString(4, unique);
                st.setArray(5, c.createArrayOf("text", mailboxes.toArray()));
                st.execute();
            }
            return null;
        });
        intended.add(uid);
    }

    @Override
    void recordStored(Map<String, Long> batch, long t) throws IOException {
        intended.removeAll(batch.keySet());
        dirty.addAll(batch.keySet());
        commit(false, c -> null);
    }

    @Override
    void recordDeleted(int[] entries, int n, long t) {
        for (int k = 0; k < n; k++) {
            dirty.add(unescape(s.table.escaped(entries[k])));
        }
    }

    @Override
    void recordListing(int[] entries, int n, List<String> oversizedGone, long t) {
        for (int k = 0; k < n; k++) {
            dirty.add(unescape(s.table.escaped(entries[k])));
        }
        dirty.addAll(oversizedGone);
        metaDirty = true;
    }

    @Override
    void recordForgotten(int[] entries, int n) {
        for (int k = 0; k < n; k++) {
            dirty.add(unescape(s.table.escaped(entries[k])));
        }
    }

    @Override
    void recordOversized(Oversized o) {
        dirty.add(o.uid());
    }

    /** At once: a row stored under the new UIDVALIDITY must never be read back under the old one. */
    @Override
    void recordValidity(long validity) throws IOException {
        metaDirty = true;
        commit(false, c -> {
            try (PreparedStatement st = c.prepareStatement("DELETE FROM uplink_ledger WHERE collector = ?"
                    + " AND NOT starts_with(uid, ?) AND state <> 'pending'")) {
                st.setString(1, collector);
                st.setString(2, validity + "/");
                st.executeUpdate();
            }
            return null;
        });
    }

    @Override
    void recordHandled(long uid) {
        metaDirty = true;
    }

    /** A synchronous commit of what memory holds beyond the database; it makes the asynchronous ones durable too. */
    @Override
    public void sync() throws IOException {
        if (!unforced && dirty.isEmpty() && !metaDirty) {
            return;
        }
        commit(true, c -> {
            // a row written, so that the commit waits for the WAL up to here
            try (PreparedStatement st = c.prepareStatement("INSERT INTO uplink_ledger_meta (collector, synced_at)"
                    + " VALUES (?, now()) ON CONFLICT (collector) DO UPDATE SET synced_at = excluded.synced_at")) {
                st.setString(1, collector);
                st.executeUpdate();
            }
            return null;
        });
    }

    @Override
    public void close() throws IOException {
        try {
            sync();
        } finally {
            unlock();
        }
    }
}

package io.uplink.mail.internal.outbox;

import io.uplink.api.cluster.Fence;
import io.uplink.api.mail.FailedMessage;
import io.uplink.api.mail.QueuedMessage;
import io.uplink.api.mail.TaskContext;
import io.uplink.mail.internal.outbox.FileOutbox.Bounces;
import io.uplink.mail.internal.outbox.FileOutbox.Entry;
import io.uplink.mail.internal.outbox.FileOutbox.Envelope;
import io.uplink.mail.internal.outbox.FileOutbox.Outcome;
import io.uplink.mail.internal.outbox.FileOutbox.Prepared;
import io.uplink.mail.internal.outbox.FileOutbox.Rcpt;
import io.uplink.mail.internal.outbox.FileOutbox.Result;
import io.uplink.mail.internal.outbox.FileOutbox.Retry;
import io.uplink.mail.internal.outbox.FileOutbox.State;
import io.uplink.mail.internal.outbox.FileOutbox.Verdict;
import io.uplink.mail.internal.outbox.HeaderBlock.MalformedMessageException;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.function.Function;

import javax.sql.DataSource;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The outgoing queue in the cluster's PostgreSQL database (see "Outbox store" in docs/architecture.md).
 *
 * <pre>
 * uplink_outbox_message  one row per message: envelope sender, times, tries, the body (bytea); failed_at set = failed
 * uplink_outbox_rcpt     one row per recipient: pending, claimed (by a firing, on its fenced session), sent, failed
 * </pre>
 *
 * Queueing commits before it returns (concurrent submits share one commit). A firing claims a message's recipients
 * through its fence before RCPT TO, and records the server's answers through the fence: a recipient leaves the queue
 * only in the commit that follows its 250. A claim names the fenced session (backend pid and start time); when that
 * session is gone, so is the firing's lock, and the claim no longer holds the message back.
 */
public final class JdbcOutbox implements OutboxStore {

    private static final Logger LOG = LoggerFactory.getLogger(JdbcOutbox.class);

    /** A claim holds while the session that made it lives: the session that holds the firing's lock. */
    private static final String LIVE_CLAIM = "r.state = 'claimed' AND EXISTS (SELECT 1 FROM pg_stat_activity a"
            + " WHERE a.pid = r.holder_pid AND a.backend_start = r.holder_start)";
    private static final String MESSAGE_COLUMNS = "m.id, m.sender, m.queued, m.size, m.priority, m.attempts, m.next_try,"
            + " m.last_error, m.failed_at";

    /** How many messages, and how many bytes of them, a firing claims in one commit. */
    private static final int CLAIM_AHEAD = 16;
    private static final long CLAIM_AHEAD_BYTES = 4L << 20;

    private final DataSource db;
    private final Function<String, Optional<Fence>> fences;
    private final Path postmaster;
    private final Bounces bounces;
    private final Clock clock;
    private final Retry retry;
    private final String hostName = FileOutbox.hostName();
    private final GroupCommit group = new GroupCommit();

    /**
     * Opens the queue in a database, creating its tables when missing.
     *
     * @param fences the fence a connection's firing holds on this node ({@code Cluster::fence})
     * @param postmaster the postmaster's Maildir, for bounces
     */
    public JdbcOutbox(DataSource db, Function<String, Optional<Fence>> fences, Path postmaster, Bounces bounces,
            Clock clock, Retry retry) throws IOException {
        this.db = db;
        this.fences = fences;
        this.postmaster = postmaster;
        this.bounces = bounces;
        this.clock = clock;
        this.retry = retry;
        tx(c -> {
            try (Statement st = c.createStatement()) {
                // two nodes starting at once: one creates, the other waits and finds the tables there
                st.execute("SELECT pg_advisory_xact_lock(hashtext('uplink_outbox_schema'))");
                st.execute("CREATE TABLE IF NOT EXISTS uplink_outbox_message (id text PRIMARY KEY, sender text NOT NULL,"
                        + " queued timestamptz NOT NULL, size bigint NOT NULL, priority boolean NOT NULL,"
                        + " attempts integer NOT NULL DEFAULT 0, next_try timestamptz, last_error text,"
                        + " failed_at timestamptz, body bytea NOT NULL)");
                st.execute("CREATE TABLE IF NOT EXISTS uplink_outbox_rcpt (message_id text NOT NULL"
                        + " REFERENCES uplink_outbox_message (id) ON DELETE CASCADE, pos integer NOT NULL,"
                        + " address text NOT NULL, state text NOT NULL"
                        + " CHECK (state IN ('pending', 'claimed', 'sent', 'failed')), reply text, firing text,"
                        + " holder_pid integer, holder_start timestamptz, PRIMARY KEY (message_id, pos))");
                st.execute("CREATE INDEX IF NOT EXISTS uplink_outbox_message_waiting ON uplink_outbox_message"
                        + " (priority DESC, queued, id) WHERE failed_at IS NULL");
                st.execute("CREATE INDEX IF NOT EXISTS uplink_outbox_message_failed ON uplink_outbox_message"
                        + " (failed_at) WHERE failed_at IS NOT NULL");
            }
            return null;
        });
    }

    // ------------------------------------------------------------------ intake

    @Override
    public QueuedMessage queueOrReject(String from, List<String> recipients, InputStream message)
            throws IOException, MalformedMessageException {
        // the body goes into a bytea column: held in memory once here, as the driver would anyway
        Prepared p = prepare(from, recipients, message.readAllBytes());
        commit(List.of(p));
        return p.entry().view();
    }

    @Override
    public QueuedMessage submit(String from, List<String> recipients, byte[] message) throws IOException {
        Prepared p;
        try {
            p = prepare(from, recipients, message);
        } catch (MalformedMessageException e) {
            throw new IOException("not an RFC 5322 message: " + e.getMessage(), e);
        }
        group.commit(p);
        return p.entry().view();
    }

    @Override
    public Prepared prepare(String from, List<String> recipients, byte[] message)
            throws IOException, MalformedMessageException {
        // timestamptz keeps microseconds: what a caller is told is what a reader gets back
        return FileOutbox.prepare(FileOutbox.newId(), from, recipients, message, now());
    }

    @Override
    public void commit(List<Prepared> prepared) throws IOException {
        if (prepared.isEmpty()) {
            return;
        }
        tx(c -> {
            insert(c, prepared);
            return null;
        });
    }

    private static void insert(Connection c, List<Prepared> prepared) throws SQLException {
        try (PreparedStatement m = c.prepareStatement("INSERT INTO uplink_outbox_message (id, sender, queued, size,"
                + " priority, body) VALUES (?, ?, ?, ?, ?, ?)");
                PreparedStatement r = c.prepareStatement("INSERT INTO uplink_outbox_rcpt (message_id, pos, address,"
                        + " state) VALUES (?, ?, ?, 'pending')")) {
            for (Prepared p : prepared) {
                Entry e = p.entry();
                m.setString(1, e.id);
                m.setString(2, e.from);
                m.setObject(3, time(e.queued));
                m.setLong(4, e.size);
                m.setBoolean(5, e.priority);
                m.setBytes(6, p.body());
                m.addBatch();
                int pos = 0;
                for (String a : e.recipients.keySet()) {
                    r.setString(1, e.id);
                    r.setInt(2, pos++);
                    r.setString(3, a);
                    r.addBatch();
                }
            }
            m.executeBatch();
            r.executeBatch();
        }
    }

    /**
     * Group commit of concurrent submits: a caller that finds fewer than {@value #LEADERS} commits under way commits
     * what is waiting, and keeps committing what arrived meanwhile; the others wait for the commit that holds their
     * message. A few commits run at once on pooled sessions, so that PostgreSQL's own group commit merges their WAL
     * flushes while the next groups gather.
     */
    private final class GroupCommit {
        private static final int LEADERS = 4;
        private final List<Waiting> waiting = new ArrayList<>();
        private int leaders;

        private static final class Waiting {
            final Prepared prepared;
            boolean done;
            IOException error;

            Waiting(Prepared prepared) {
                this.prepared = prepared;
            }
        }

        void commit(Prepared p) throws IOException {
            Waiting me = new Waiting(p);
            boolean lead;
            synchronized (this) {
                waiting.add(me);
                lead = leaders < LEADERS;
                if (lead) {
                    leaders++;
                }
            }
            while (lead) {
                List<Waiting> batch;
                synchronized (this) {
                    if (waiting.isEmpty()) {
                        leaders--;
                        break;
                    }
                    batch = new ArrayList<>(waiting);
                    waiting.clear();
                }
                IOException error = null;
                try {
                    List<Prepared> ps = new ArrayList<>(batch.size());
                    batch.forEach(w -> ps.add(w.prepared));
                    JdbcOutbox.this.commit(ps);
                } catch (IOException e) {
                    error = e;
                }
                synchronized (this) {
                    for (Waiting w : batch) {
                        w.error = error;
                        w.done = true;
                    }
                    notifyAll();
                }
            }
            synchronized (this) {
                boolean interrupted = false;
                while (!me.done) {
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        // the message is being committed: its caller must learn how that ended
                        interrupted = true;
                    }
                }
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
            if (me.error != null) {
                throw new IOException(me.error.getMessage(), me.error);
            }
        }
    }

    // ------------------------------------------------------------------ the Outbox service

    @Override
    public int size() {
        return read(c -> {
            try (Statement st = c.createStatement();
                    ResultSet rs = st.executeQuery("SELECT count(*) FROM uplink_outbox_message WHERE failed_at IS NULL")) {
                rs.next();
                return rs.getInt(1);
            }
        });
    }

    @Override
    public List<QueuedMessage> list() {
        return views(read(c -> entries(c, "m.failed_at IS NULL ORDER BY m.queued, m.id")));
    }

    @Override
    public Optional<QueuedMessage> get(String id) {
        return views(read(c -> entries(c, "m.failed_at IS NULL AND m.id = ?", id))).stream().findFirst();
    }

    @Override
    public InputStream open(String id) throws IOException {
        byte[] body = tx(c -> body(c, id, false));
        if (body == null) {
            throw new NoSuchFileException("no queued message " + id);
        }
        return new ByteArrayInputStream(body);
    }

    @Override
    public boolean retry(String id) {
        return update("UPDATE uplink_outbox_message SET next_try = NULL WHERE id = ? AND failed_at IS NULL", id) > 0;
    }

    @Override
    public int retryAll() {
        return update("UPDATE uplink_outbox_message SET next_try = NULL WHERE failed_at IS NULL");
    }

    @Override
    public boolean delete(String id) {
        try {
            return tx(c -> {
                if (!lock(c, id, false)) {
                    return false;
                }
                if (liveClaim(c, id)) {
                    throw new IllegalStateException("message " + id
                            + " is being sent right now; try again when the firing ended");
                }
                return delete(c, id) > 0;
            });
        } catch (IOException e) {
            throw new IllegalStateException("cannot delete message " + id + ": " + e.getMessage(), e);
        }
    }

    // ------------------------------------------------------------------ failed mail

    @Override
    public List<FailedMessage> failedMessages() throws IOException {
        List<Entry> failed = tx(c -> entries(c, "m.failed_at IS NOT NULL ORDER BY m.failed_at DESC, m.id"));
        List<FailedMessage> out = new ArrayList<>();
        failed.forEach(e -> out.add(FailedFolder.view(e)));
        return out;
    }

    @Override
    public Optional<FailedMessage> failedMessage(String id) {
        return read(c -> entries(c, "m.failed_at IS NOT NULL AND m.id = ?", id)).stream().findFirst()
                .map(FailedFolder::view);
    }

    /**
     * Puts a failed message back for its failed recipients, under a new id, due now and with a fresh
     * {@code retry.maxAge}: the new message and the removal of the failed one are one commit.
     */
    @Override
    public Optional<String> requeue(String failedId) throws IOException {
        String id = FileOutbox.newId();
        Instant now = now();
        Optional<List<String>> requeued = tx(c -> {
            if (!lock(c, failedId, true)) {
                return Optional.empty();
            }
            List<String> rcpts = new ArrayList<>();
            try (PreparedStatement st = c.prepareStatement("SELECT address FROM uplink_outbox_rcpt WHERE message_id = ?"
                    + " AND state = 'failed' ORDER BY pos")) {
                st.setString(1, failedId);
                try (ResultSet rs = st.executeQuery()) {
                    while (rs.next()) {
                        rcpts.add(rs.getString(1));
                    }
                }
            }
            if (rcpts.isEmpty()) {
                throw new SQLException("failed message " + failedId + " names no failed recipient; nothing to requeue");
            }
            try (PreparedStatement st = c.prepareStatement("INSERT INTO uplink_outbox_message (id, sender, queued, size,"
                    + " priority, body) SELECT ?, sender, ?, size, priority, body FROM uplink_outbox_message WHERE id = ?")) {
                st.setString(1, id);
                st.setObject(2, time(now));
                st.setString(3, failedId);
                st.executeUpdate();
            }
            try (PreparedStatement st = c.prepareStatement("INSERT INTO uplink_outbox_rcpt (message_id, pos, address,"
                    + " state) VALUES (?, ?, ?, 'pending')")) {
                for (int i = 0; i < rcpts.size(); i++) {
                    st.setString(1, id);
                    st.setInt(2, i);
                    st.setString(3, rcpts.get(i));
                    st.addBatch();
                }
                st.executeBatch();
            }
            delete(c, failedId);
            return Optional.of(rcpts);
        });
        if (requeued.isEmpty()) {
            return Optional.empty();
        }
        LOG.info("Failed message {} requeued as {} for {}", failedId, id, requeued.get());
        return Optional.of(id);
    }

    @Override
    public int requeueAll() throws IOException {
        int n = 0;
        for (FailedMessage m : failedMessages()) {
            if (requeue(m.id()).isPresent()) {
                n++;
            }
        }
        return n;
    }

    @Override
    public boolean deleteFailed(String id) throws IOException {
        return tx(c -> {
            try (PreparedStatement st = c.prepareStatement("DELETE FROM uplink_outbox_message WHERE id = ?"
                    + " AND failed_at IS NOT NULL")) {
                st.setString(1, id);
                return st.executeUpdate() > 0;
            }
        });
    }

    @Override
    public int purgeFailed(Instant before) throws IOException {
        return tx(c -> {
            try (PreparedStatement st = c.prepareStatement("DELETE FROM uplink_outbox_message WHERE failed_at < ?")) {
                st.setObject(1, time(before));
                return st.executeUpdate();
            }
        });
    }

    @Override
    public int expire(Duration retention, Path pickupRejected) throws IOException {
        Instant before = clock.instant().minus(retention);
        int n = purgeFailed(before);
        if (pickupRejected != null) {
            n += FailedFolder.purgeFiles(pickupRejected, before);
        }
        return n;
    }

    // ------------------------------------------------------------------ sending

    @Override
    public List<QueuedMessage> due() {
        Instant now = clock.instant();
        return views(read(c -> entries(c, "m.failed_at IS NULL AND (m.next_try IS NULL OR m.next_try <= ?)"
                + " AND NOT EXISTS (SELECT 1 FROM uplink_outbox_rcpt r WHERE r.message_id = m.id AND " + LIVE_CLAIM + ")"
                + " ORDER BY m.priority DESC, m.queued, m.id", time(now))));
    }

    @Override
    public Sending sending(TaskContext firing) throws IOException {
        Fence fence = fences.apply(firing.connectionId()).orElseThrow(() -> new IOException("connection '"
                + firing.connectionId() + "' holds no cluster fence on this node: the outbox in the cluster's database is"
                + " sent only by a firing the cluster runs"));
        Object[] session = fence.commit(c -> {
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT pid, backend_start FROM"
                    + " pg_stat_activity WHERE pid = pg_backend_pid()")) {
                rs.next();
                return new Object[] {rs.getInt(1), rs.getObject(2, OffsetDateTime.class)};
            }
        });
        return new FencedSending(fence, firing.firingId(), (Integer) session[0], (OffsetDateTime) session[1]);
    }

    /**
     * A firing sending from the queue: every claim and record is committed through its fence. Claims are taken a few
     * messages ahead in one commit (up to {@value #CLAIM_AHEAD} messages or {@value #CLAIM_AHEAD_BYTES} bytes): a
     * claim only keeps other firings away, so claiming ahead sends nothing twice, while the commit per message stays
     * the one after the server's 250.
     */
    private final class FencedSending implements Sending {
        private final Fence fence;
        private final String firingId;
        private final int pid;
        private final OffsetDateTime started;
        /** Claimed ahead, not handed out yet. */
        private final Map<String, Claimed> ahead = new LinkedHashMap<>();
        /** Handed out to the sender and not recorded yet. */
        private final Map<String, Entry> out = new java.util.HashMap<>();
        private final java.util.Set<String> handedOut = new java.util.HashSet<>();

        FencedSending(Fence fence, String firingId, int pid, OffsetDateTime started) {
            this.fence = fence;
            this.firingId = firingId;
            this.pid = pid;
            this.started = started;
        }

        /**
         * A claim that keeps a message from this firing: one by another live session. A claim by this fenced session
         * is this connection's own (a fence's session may serve several firings in turn, one at a time); within the
         * firing, what was handed out is not handed out again.
         */
        private String blocking() {
            return LIVE_CLAIM + " AND NOT (r.holder_pid = ? AND r.holder_start = ?)";
        }

        @Override
        public List<QueuedMessage> due() {
            return views(read(c -> entries(c, "m.failed_at IS NULL AND (m.next_try IS NULL OR m.next_try <= ?)"
                    + " AND NOT EXISTS (SELECT 1 FROM uplink_outbox_rcpt r WHERE r.message_id = m.id AND " + blocking()
                    + ") ORDER BY m.priority DESC, m.queued, m.id", time(clock.instant()), pid, started)));
        }

        @Override
        public Optional<Envelope> claim(String id) throws IOException {
            if (handedOut.contains(id)) {
                return Optional.empty();
            }
            Claimed c = ahead.remove(id);
            if (c == null) {
                c = claimAhead(id);
            }
            if (c == null) {
                return Optional.empty();
            }
            handedOut.add(id);
            out.put(id, c.entry());
            return Optional.of(c.envelope());
        }

        /** Claims {@code id} and the next due messages in one fenced commit; the claim of {@code id}, if it got it. */
        private Claimed claimAhead(String id) throws IOException {
            Instant now = clock.instant();
            Map<String, Claimed> got = fence.commit(c -> {
                // a claim keeps other firings away while this one's lock lives; a database crash ends every lock
                // and every claim with it, so claims need not wait for the disk
                asynchronous(c);
                List<String> wanted = new ArrayList<>();
                try (PreparedStatement st = c.prepareStatement("SELECT id FROM uplink_outbox_message WHERE id = ?"
                        + " AND failed_at IS NULL FOR UPDATE")) {
                    st.setString(1, id);
                    try (ResultSet rs = st.executeQuery()) {
                        if (rs.next()) {
                            wanted.add(id);
                        }
                    }
                }
                // the next due messages that nobody holds, up to the limits; locked ones are someone else's now
                try (PreparedStatement st = c.prepareStatement("SELECT m.id, m.size FROM uplink_outbox_message m"
                        + " WHERE m.failed_at IS NULL AND (m.next_try IS NULL OR m.next_try <= ?) AND m.id <> ?"
                        + " AND NOT EXISTS (SELECT 1 FROM uplink_outbox_rcpt r WHERE r.message_id = m.id AND "
                        + LIVE_CLAIM + ") ORDER BY m.priority DESC, m.queued, m.id LIMIT ? FOR UPDATE SKIP LOCKED")) {
                    st.setObject(1, time(now));
                    st.setString(2, id);
                    st.setInt(3, CLAIM_AHEAD);
                    long bytes = 0;
                    try (ResultSet rs = st.executeQuery()) {
                        while (rs.next() && wanted.size() < CLAIM_AHEAD && bytes < CLAIM_AHEAD_BYTES) {
                            String n = rs.getString(1);
                            if (!handedOut.contains(n) && !ahead.containsKey(n)) {
                                wanted.add(n);
                                bytes += rs.getLong(2);
                            }
                        }
                    }
                }
                if (wanted.isEmpty()) {
                    return Map.<String, Claimed>of();
                }
                try (PreparedStatement st = c.prepareStatement("SELECT DISTINCT r.message_id FROM uplink_outbox_rcpt r"
                        + " WHERE r.message_id = ANY (?) AND " + blocking())) {
                    st.setArray(1, c.createArrayOf("text", wanted.toArray()));
                    st.setInt(2, pid);
                    st.setObject(3, started);
                    try (ResultSet rs = st.executeQuery()) {
                        while (rs.next()) {
                            wanted.remove(rs.getString(1));
                        }
                    }
                }
                if (wanted.isEmpty()) {
                    return Map.<String, Claimed>of();
                }
                java.sql.Array ids = c.createArrayOf("text", wanted.toArray());
                try (PreparedStatement st = c.prepareStatement("UPDATE uplink_outbox_rcpt SET state = 'claimed',"
                        + " firing = ?, holder_pid = ?, holder_start = ? WHERE message_id = ANY (?)"
                        + " AND state IN ('pending', 'claimed')")) {
                    st.setString(1, firingId);
                    st.setInt(2, pid);
                    st.setObject(3, started);
                    st.setArray(4, ids);
                    st.executeUpdate();
                }
                Map<String, Entry> entries = new java.util.HashMap<>();
                for (Entry e : entries(c, "m.id = ANY (?)", ids)) {
                    if (!e.pending().isEmpty()) {
                        entries.put(e.id, e);
                    }
                }
                Map<String, Claimed> claimed = new LinkedHashMap<>();
                try (PreparedStatement st = c.prepareStatement("SELECT id, body FROM uplink_outbox_message"
                        + " WHERE id = ANY (?)")) {
                    st.setArray(1, ids);
                    try (ResultSet rs = st.executeQuery()) {
                        while (rs.next()) {
                            Entry e = entries.get(rs.getString(1));
                            if (e != null) {
                                claimed.put(e.id, new Claimed(e, new Envelope(e.id, e.from, e.pending(), e.size, null,
                                        rs.getBytes(2))));
                            }
                        }
                    }
                }
                return claimed;
            });
            Map<String, Claimed> rest = new LinkedHashMap<>(got);
            Claimed mine = rest.remove(id);
            ahead.putAll(rest);
            return mine;
        }

        @Override
        public void release(String id) {
            handedOut.remove(id);
            out.remove(id);
            unclaimAll(List.of(id));
        }

        @Override
        public void close() {
            if (!ahead.isEmpty()) {
                unclaimAll(new ArrayList<>(ahead.keySet()));
                ahead.clear();
            }
        }

        private void unclaimAll(List<String> ids) {
            try {
                fence.commit(c -> {
                    for (String id : ids) {
                        unclaim(c, id);
                    }
                    return null;
                });
            } catch (IOException e) {
                // the fence is gone: the claims lapse with it, the messages are due again for the next firing
                LOG.warn("Outgoing message(s) {}: cannot give back their claim ({}); due again once this firing's lock"
                        + " is free", ids, e.getMessage());
            }
        }

        @Override
        public Result record(String id, Map<String, Outcome> outcomes, String remoteHost, boolean backoff,
                Executor removal) throws IOException {
            Entry e = out.remove(id);
            handedOut.remove(id);
            return JdbcOutbox.this.record(fence, e, id, outcomes, remoteHost, backoff);
        }

        @Override
        public Result recordAll(String id, Verdict verdict, String reply, String remoteHost, boolean backoff)
                throws IOException {
            Map<String, Outcome> all = new LinkedHashMap<>();
            Entry e = out.get(id);
            for (Entry x : e != null ? List.of(e) : read(c -> entries(c, "m.id = ?", id))) {
                for (String r : x.pending()) {
                    all.put(r, new Outcome(verdict, reply));
                }
            }
            return record(id, all, remoteHost, backoff, Runnable::run);
        }
    }

    /** A message claimed by a firing: its state when claimed, and what the sender needs. */
    private record Claimed(Entry entry, Envelope envelope) {
    }

    /**
     * Records one try, as {@link FileOutbox#record(String, Map, String, boolean, Executor)}: the bounce of recipients
     * that failed for good first, then one fenced commit of the recipients' states (the claimed ones not named go back
     * to pending) and of the message's, which leaves the queue (deleted, or failed) when no recipient is pending.
     */
    private Result record(Fence fence, Entry claimed, String id, Map<String, Outcome> outcomes, String remoteHost,
            boolean backoff) throws IOException {
        Instant now = now();
        // as claimed: nobody else changes the recipients of a message this firing holds
        List<Entry> found = claimed != null ? List.of(claimed) : tx(c -> entries(c, "m.id = ? AND m.failed_at IS NULL", id));
        if (found.isEmpty()) {
            return Result.SENT;
        }
        Entry e = found.get(0);
        Map<String, Outcome> effective = new LinkedHashMap<>();
        Map<String, String> newlyFailed = new LinkedHashMap<>();
        String lastError = FileOutbox.effective(e, outcomes, retry, now, effective, newlyFailed);
        if (!newlyFailed.isEmpty()) {
            // the bounce goes first: a lost fence or a crash after it repeats the bounce rather than loses it
            byte[] header;
            try {
                byte[] body = tx(c -> body(c, id, false));
                header = HeaderBlock.read(new ByteArrayInputStream(body == null ? new byte[0] : body)).bytes();
            } catch (MalformedMessageException x) {
                header = "X-Uplink-Note: the original header could not be read\r\n".getBytes(StandardCharsets.US_ASCII);
            }
            FileOutbox.bounce(this, hostName, bounces, postmaster, e, newlyFailed, remoteHost, header, now);
        }
        FileOutbox.apply(e, effective);
        boolean anyPending = !e.pending().isEmpty();
        boolean anyFailed = e.recipients.values().stream().anyMatch(r -> r.state == State.FAILED);
        Instant nextTry = anyPending && backoff ? now.plus(FileOutbox.backoff(retry, e.attempts + 1)) : anyPending ? e.nextTry : null;
        String error = lastError;
        Result result = anyPending ? Result.DEFERRED : anyFailed ? Result.FAILED : Result.SENT;
        fence.commit(c -> {
            if (result == Result.SENT) {
                // every recipient accepted: the message leaves the queue in this commit. It need not wait for the
                // disk: a database crash that loses it means the message is sent once more, never lost (as a rename
                // in the file store that a crash undoes); a lost fence still refuses it, since the commit is checked
                asynchronous(c);
                delete(c, id);
                return null;
            }
            try (PreparedStatement st = c.prepareStatement("UPDATE uplink_outbox_rcpt SET state = ?, reply = ?,"
                    + " firing = NULL, holder_pid = NULL, holder_start = NULL WHERE message_id = ? AND address = ?")) {
                for (Map.Entry<String, Outcome> o : effective.entrySet()) {
                    Rcpt r = e.recipients.get(o.getKey());
                    st.setString(1, r.state.name().toLowerCase(java.util.Locale.ROOT));
                    st.setString(2, r.reply);
                    st.setString(3, id);
                    st.setString(4, o.getKey());
                    st.addBatch();
                }
                st.executeBatch();
            }
            unclaim(c, id);
            try (PreparedStatement st = c.prepareStatement("UPDATE uplink_outbox_message SET attempts = attempts + 1,"
                    + " last_error = ?, next_try = ?, failed_at = ? WHERE id = ?")) {
                st.setString(1, error);
                st.setObject(2, nextTry == null ? null : time(nextTry));
                st.setObject(3, result == Result.FAILED ? time(now) : null);
                st.setString(4, id);
                st.executeUpdate();
            }
            return null;
        });
        return result;
    }

    @Override
    public void close() {
        // nothing runs in the background: a submit commits on its caller's thread
    }

    // ------------------------------------------------------------------ SQL

    /** This transaction's commit returns before its WAL reaches the disk (visible at once, durable soon after). */
    private static void asynchronous(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("SET LOCAL synchronous_commit = off");
        }
    }

    /** Gives this session's claims on a message back (to pending). */
    private static void unclaim(Connection c, String id) throws SQLException {
        try (PreparedStatement st = c.prepareStatement("UPDATE uplink_outbox_rcpt SET state = 'pending', firing = NULL,"
                + " holder_pid = NULL, holder_start = NULL WHERE message_id = ? AND state = 'claimed'"
                + " AND holder_pid = pg_backend_pid()")) {
            st.setString(1, id);
            st.executeUpdate();
        }
    }

    /** Locks a message's row for this transaction; false when there is none (queued, or failed as asked). */
    private static boolean lock(Connection c, String id, boolean failed) throws SQLException {
        try (PreparedStatement st = c.prepareStatement("SELECT 1 FROM uplink_outbox_message WHERE id = ? AND failed_at IS "
                + (failed ? "NOT NULL" : "NULL") + " FOR UPDATE")) {
            st.setString(1, id);
            try (ResultSet rs = st.executeQuery()) {
                return rs.next();
            }
        }
    }

    private static boolean liveClaim(Connection c, String id) throws SQLException {
        try (PreparedStatement st = c.prepareStatement("SELECT 1 FROM uplink_outbox_rcpt r WHERE r.message_id = ? AND "
                + LIVE_CLAIM)) {
            st.setString(1, id);
            try (ResultSet rs = st.executeQuery()) {
                return rs.next();
            }
        }
    }

    private static int delete(Connection c, String id) throws SQLException {
        try (PreparedStatement st = c.prepareStatement("DELETE FROM uplink_outbox_message WHERE id = ?")) {
            st.setString(1, id);
            return st.executeUpdate();
        }
    }

    private static byte[] body(Connection c, String id, boolean failed) throws SQLException {
        try (PreparedStatement st = c.prepareStatement("SELECT body FROM uplink_outbox_message WHERE id = ? AND failed_at IS "
                + (failed ? "NOT NULL" : "NULL"))) {
            st.setString(1, id);
            try (ResultSet rs = st.executeQuery()) {
                return rs.next() ? rs.getBytes(1) : null;
            }
        }
    }

    /** Messages (without their bodies) and their recipients; claimed recipients count as pending. */
    private static List<Entry> entries(Connection c, String where, Object... params) throws SQLException {
        Map<String, Entry> byId = new LinkedHashMap<>();
        try (PreparedStatement st = c.prepareStatement("SELECT " + MESSAGE_COLUMNS + " FROM uplink_outbox_message m WHERE "
                + where)) {
            for (int i = 0; i < params.length; i++) {
                st.setObject(i + 1, params[i]);
            }
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    Entry e = new Entry();
                    e.id = rs.getString(1);
                    e.from = rs.getString(2);
                    e.queued = instant(rs, 3);
                    e.size = rs.getLong(4);
                    e.priority = rs.getBoolean(5);
                    e.attempts = rs.getInt(6);
                    e.nextTry = instant(rs, 7);
                    e.lastError = rs.getString(8);
                    e.failedAt = instant(rs, 9);
                    byId.put(e.id, e);
                }
            }
        }
        if (byId.isEmpty()) {
            return List.of();
        }
        try (PreparedStatement st = c.prepareStatement("SELECT message_id, address, state, reply FROM uplink_outbox_rcpt"
                + " WHERE message_id = ANY (?) ORDER BY message_id, pos")) {
            st.setArray(1, c.createArrayOf("text", byId.keySet().toArray()));
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    Rcpt r = new Rcpt();
                    String state = rs.getString(3);
                    r.state = "claimed".equals(state) ? State.PENDING : State.valueOf(state.toUpperCase(java.util.Locale.ROOT));
                    r.reply = rs.getString(4);
                    byId.get(rs.getString(1)).recipients.put(rs.getString(2), r);
                }
            }
        }
        return new ArrayList<>(byId.values());
    }

    private static List<QueuedMessage> views(List<Entry> entries) {
        List<QueuedMessage> out = new ArrayList<>(entries.size());
        entries.forEach(e -> out.add(e.view()));
        return out;
    }

    private int update(String sql, Object... params) {
        try {
            return tx(c -> {
                try (PreparedStatement st = c.prepareStatement(sql)) {
                    for (int i = 0; i < params.length; i++) {
                        st.setObject(i + 1, params[i]);
                    }
                    return st.executeUpdate();
                }
            });
        } catch (IOException e) {
            throw new IllegalStateException("cannot update the outbox: " + e.getMessage(), e);
        }
    }

    /** A read for a method of the {@link io.uplink.api.mail.Outbox} API, which throws no checked exception. */
    private <T> T read(Fence.Work<T> work) {
        try {
            return tx(work);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the outbox: " + e.getMessage(), e);
        }
    }

    /** One transaction on a pooled session, committed; an SQL failure is an {@link IOException}. */
    private <T> T tx(Fence.Work<T> work) throws IOException {
        try (Connection c = db.getConnection()) {
            boolean auto = c.getAutoCommit();
            c.setAutoCommit(false);
            try {
                T t = work.run(c);
                c.commit();
                return t;
            } catch (SQLException | RuntimeException e) {
                try {
                    c.rollback();
                } catch (SQLException ignored) {
                    // the session broke: nothing of this transaction was committed
                }
                throw e;
            } finally {
                try {
                    c.setAutoCommit(auto);
                } catch (SQLException ignored) {
                    // a broken session: the pool drops it
                }
            }
        } catch (SQLException e) {
            throw new IOException("outbox database: " + e.getMessage(), e);
        }
    }

    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MICROS);
    }

    private static OffsetDateTime time(Instant i) {
        return OffsetDateTime.ofInstant(i, ZoneOffset.UTC);
    }

    private static Instant instant(ResultSet rs, int column) throws SQLException {
        OffsetDateTime t = rs.getObject(column, OffsetDateTime.class);
        return t == null ? null : t.toInstant();
    }
}

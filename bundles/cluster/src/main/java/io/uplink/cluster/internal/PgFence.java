package io.uplink.cluster.internal;

import io.uplink.api.cluster.Fence;
import io.uplink.api.cluster.FencedException;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import javax.sql.DataSource;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A firing's fence: {@code pg_try_advisory_lock(FENCE_CLASS, key)} on a session taken from the pool and kept for
 * the whole firing. The server ends that session once it is idle for {@code fence.timeout}
 * ({@code idle_session_timeout}), which frees the lock: a paused node loses it, and a killed node's lock goes with
 * its connection at once. A heartbeat keeps the session busy every third of the timeout and notices a lost lock, so
 * the firing is told ({@code onLost}). Commits run on this session, so a node that lost it commits nothing.
 */
final class PgFence implements Fence, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(PgFence.class);
    private static final String HOLDS = "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"
            + " AND pid = pg_backend_pid() AND classid::bigint = ? AND objid::bigint = ? AND objsubid = 2 AND granted)";

    private final String connectionId;
    private final String firingId;
    private final String nodeId;
    private final int key;
    private final Connection session;
    private final int backendPid;
    private final Runnable onLost;
    private final AtomicBoolean lost = new AtomicBoolean();
    private volatile boolean held = true;
    private volatile boolean closed;
    private volatile boolean stopRequested;
    private ScheduledFuture<?> heartbeat;

    private PgFence(String connectionId, String firingId, String nodeId, int key, Connection session, int backendPid,
            Runnable onLost) {
        this.connectionId = connectionId;
        this.firingId = firingId;
        this.nodeId = nodeId;
        this.key = key;
        this.session = session;
        this.backendPid = backendPid;
        this.onLost = onLost;
    }

    /**
     * Takes a connection's lock, waiting up to {@code wait} for its previous holder's to go.
     *
     * @throws FencedException when the lock is still held by another session after {@code wait}
     */
    static PgFence acquire(DataSource ds, NodeSettings s, String connectionId, String firingId, int key,
            ScheduledExecutorService heartbeats, Runnable onLost) throws SQLException, InterruptedException,
            FencedException {
        Connection c = ds.getConnection();
        try {
            c.setAutoCommit(true);
            long ms = s.fenceTimeout().toMillis();
            int pid;
            try (Statement st = c.createStatement()) {
                st.execute("SET idle_session_timeout = " + ms);
                st.execute("SET idle_in_transaction_session_timeout = " + ms);
                try (ResultSet rs = st.executeQuery("SELECT pg_backend_pid()")) {
                    rs.next();
                    pid = rs.getInt(1);
                }
            }
            long deadline = System.nanoTime() + s.fenceWait().toNanos();
            try (PreparedStatement lock = c.prepareStatement("SELECT pg_try_advisory_lock(?, ?)")) {
                lock.setInt(1, Schema.FENCE_CLASS);
                lock.setInt(2, key);
                while (true) {
                    try (ResultSet rs = lock.executeQuery()) {
                        rs.next();
                        if (rs.getBoolean(1)) {
                            break;
                        }
                    }
                    if (System.nanoTime() > deadline) {
                        throw new FencedException("connection '" + connectionId + "' is still held by another node's "
                                + "firing after " + s.fenceWait().toSeconds() + "s");
                    }
                    // the holder's session ends at most fence.timeout after its node stopped
                    Thread.sleep(200);
                }
            }
            PgFence f = new PgFence(connectionId, firingId, s.nodeId(), key, c, pid, onLost);
            Duration beat = s.heartbeat();
            f.heartbeat = heartbeats.scheduleWithFixedDelay(f::beat, beat.toMillis(), beat.toMillis(), TimeUnit.MILLISECONDS);
            return f;
        } catch (SQLException | InterruptedException | RuntimeException | FencedException e) {
            closeQuietly(c);
            throw e;
        }
    }

    @Override
    public String connectionId() {
        return connectionId;
    }

    @Override
    public String firingId() {
        return firingId;
    }

    @Override
    public String nodeId() {
        return nodeId;
    }

    @Override
    public boolean held() {
        return held && !closed;
    }

    /** The server process of the lock's session (tests end it to play a killed node). */
    int backendPid() {
        return backendPid;
    }

    @Override
    public <T> T commit(Work<T> work) throws FencedException {
        synchronized (session) {
            if (closed || lost.get()) {
                throw new FencedException(what() + " is no longer held");
            }
            try {
                session.setAutoCommit(false);
                // No pg_locks look here: a session-level advisory lock is held for as long as its session lives
                // (nothing on this session unlocks the fence's key), so a commit that succeeds on this session
                // was made under the lock, and one on a session the server ended fails. The heartbeat still
                // looks, to tell the firing early. One round trip less per commit.
                T t = work.run(session);
                session.commit();
                return t;
            } catch (SQLException | RuntimeException e) {
                rollbackQuietly();
                if (isClosed()) {
                    lost();
                    throw new FencedException(what() + " was lost with its database session: " + e.getMessage(), e);
                }
                throw new FencedException("commit under " + what() + " failed: " + e.getMessage(), e);
            } finally {
                try {
                    if (!session.isClosed()) {
                        session.setAutoCommit(true);
                    }
                } catch (SQLException ignored) {
                    // the session is gone; the next commit says so
                }
            }
        }
    }

    /** Unlocks and hands the session back to the pool with its timeouts reset. */
    @Override
    public void close() {
        if (heartbeat != null) {
            heartbeat.cancel(false);
        }
        synchronized (session) {
            if (closed) {
                return;
            }
            closed = true;
            // every session lock goes, not only the fence's: a collector lock a ledger could not release must
            // never travel with the pooled session to another firing
            try (Statement st = session.createStatement()) {
                st.execute("SELECT pg_advisory_unlock_all()");
                try (Statement reset = session.createStatement()) {
                    reset.execute("RESET idle_session_timeout");
                    reset.execute("RESET idle_in_transaction_session_timeout");
                }
            } catch (SQLException e) {
                LOG.debug("{}: session already gone at release: {}", what(), e.getMessage());
            }
            closeQuietly(session);
        }
    }

    private void beat() {
        synchronized (session) {
            if (closed) {
                return;
            }
            try {
                if (holds()) {
                    readStop();
                    return;
                }
            } catch (SQLException e) {
                LOG.debug("{}: heartbeat failed: {}", what(), e.getMessage());
            }
        }
        lost();
    }

    /** Whether a hang-up from any node asked for this firing to stop ({@code Cluster.stop}). */
    private void readStop() throws SQLException {
        if (stopRequested) {
            return;
        }
        try (PreparedStatement st = session.prepareStatement(
                "SELECT stop_requested FROM uplink_firing WHERE firing_id = ? AND stop_requested IS NOT NULL")) {
            st.setString(1, firingId);
            try (ResultSet rs = st.executeQuery()) {
                if (rs.next()) {
                    stopRequested = true;
                    LOG.info("{}: stop asked for by {}", what(), rs.getString(1));
                }
            }
        }
    }

    @Override
    public boolean stopRequested() {
        return stopRequested;
    }

    private boolean holds() throws SQLException {
        try (PreparedStatement st = session.prepareStatement(HOLDS)) {
            st.setLong(1, Schema.FENCE_CLASS);
            st.setLong(2, key);
            try (ResultSet rs = st.executeQuery()) {
                return rs.next() && rs.getBoolean(1);
            }
        }
    }

    private void lost() {
        held = false;
        if (lost.compareAndSet(false, true)) {
            LOG.warn("{} was lost (database session ended); the firing stops and commits nothing more", what());
            if (heartbeat != null) {
                heartbeat.cancel(false);
            }
            onLost.run();
        }
    }

    private boolean isClosed() {
        try {
            return session.isClosed() || !session.isValid(2);
        } catch (SQLException e) {
            return true;
        }
    }

    private void rollbackQuietly() {
        try {
            session.rollback();
        } catch (SQLException ignored) {
            // nothing was committed either way
        }
    }

    private String what() {
        return "fence of connection '" + connectionId + "' (firing " + firingId + ")";
    }

    private static void closeQuietly(Connection c) {
        try {
            c.close();
        } catch (SQLException ignored) {
            // the pool drops a broken session
        }
    }
}

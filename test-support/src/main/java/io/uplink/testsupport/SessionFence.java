package io.uplink.testsupport;

import io.uplink.api.cluster.Fence;
import io.uplink.api.cluster.FencedException;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A {@link Fence} for tests: one JDBC session of its own that holds the connection's PostgreSQL advisory lock
 * ({@code pg_advisory_lock(hashtext(connectionId))}). Its commits run on that session and check that the lock is
 * still held in the same transaction, so a terminated session (or a lost lock) fails them with
 * {@link FencedException}. The cluster bundle's real fence adds the heartbeat; the guarantees tests rely on are
 * these.
 */
public final class SessionFence implements Fence, AutoCloseable {

    private final PostgresServer pg;
    private final String database;
    private final Connection session;
    private final String connectionId;
    private final String firingId;
    private final String nodeId;
    private final int pid;

    private SessionFence(PostgresServer pg, String database, Connection session, String connectionId, String firingId,
            String nodeId, int pid) {
        this.pg = pg;
        this.database = database;
        this.session = session;
        this.connectionId = connectionId;
        this.firingId = firingId;
        this.nodeId = nodeId;
        this.pid = pid;
    }

    /** {@link #acquire(PostgresServer, String, String, String, String)} with a firing id made of node and pid. */
    public static SessionFence acquire(PostgresServer pg, String database, String connectionId, String nodeId)
            throws SQLException {
        return acquire(pg, database, connectionId, null, nodeId);
    }

    /**
     * Opens a session and takes the connection's lock, waiting while another session holds it.
     *
     * @param firingId the firing's id, or {@code null} for node id and the session's pid
     */
    public static SessionFence acquire(PostgresServer pg, String database, String connectionId, String firingId,
            String nodeId) throws SQLException {
        Connection c = pg.connect(database);
        try (PreparedStatement st = c.prepareStatement("SELECT pg_advisory_lock(hashtext(?)), pg_backend_pid()")) {
            st.setString(1, connectionId);
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                int pid = rs.getInt(2);
                return new SessionFence(pg, database, c, connectionId, firingId != null ? firingId : nodeId + "-" + pid,
                        nodeId, pid);
            }
        } catch (SQLException e) {
            c.close();
            throw e;
        }
    }

    /** The backend pid of the fenced session, to end it from outside ({@code pg_terminate_backend}). */
    public int pid() {
        return pid;
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
        try {
            return session.isValid(2);
        } catch (SQLException e) {
            return false;
        }
    }

    @Override
    public synchronized <T> T commit(Work<T> work) throws FencedException {
        try {
            session.setAutoCommit(false);
            try {
                // as the cluster's fence: the lock lives as long as the session, so no pg_locks look per commit
                T t = work.run(session);
                session.commit();
                return t;
            } catch (SQLException | RuntimeException e) {
                try {
                    session.rollback();
                } catch (SQLException ignored) {
                    // the session is gone: nothing was committed
                }
                throw e;
            }
        } catch (SQLException e) {
            throw new FencedException("fenced commit of connection '" + connectionId + "' failed: " + e.getMessage(), e);
        }
    }

    /**
     * Ends the fenced session from another one ({@code pg_terminate_backend}), as the session of a dead node ends, and
     * returns once the server has let go of it (and so of its lock).
     */
    public void kill() throws SQLException {
        try (Connection c = pg.connect(database)) {
            try (PreparedStatement st = c.prepareStatement("SELECT pg_terminate_backend(?)")) {
                st.setInt(1, pid);
                st.execute();
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            try (PreparedStatement st = c.prepareStatement("SELECT 1 FROM pg_stat_activity WHERE pid = ?")) {
                st.setInt(1, pid);
                while (true) {
                    try (ResultSet rs = st.executeQuery()) {
                        if (!rs.next()) {
                            return;
                        }
                    }
                    if (System.nanoTime() > deadline) {
                        throw new SQLException("session " + pid + " still there 10 s after pg_terminate_backend");
                    }
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
                }
            }
        }
    }

    /** Frees the lock and closes the session. */
    @Override
    public void close() throws SQLException {
        try (Statement st = session.createStatement()) {
            st.execute("SELECT pg_advisory_unlock_all()");
        } catch (SQLException gone) {
            // terminated: the lock went with the session
        } finally {
            session.close();
        }
    }
}

package io.uplink.testsupport;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

import io.uplink.api.cluster.Fence;
import io.uplink.api.cluster.FencedException;

/**
 * A {@link Fence} for the stores' tests, without the cluster bundle: one session of its own holding a session-level
 * {@code pg_advisory_lock} on the connection id. {@link #commit} runs the work as one transaction on that session;
 * when the session is gone (a test ends it with {@code pg_terminate_backend(}{@link #backendPid()}{@code )}) the
 * commit fails with {@link FencedException} and nothing of it is committed, as with the cluster's own fence.
 */
public final class SessionFence implements Fence, AutoCloseable {

    private final Connection session;
    private final String connectionId;
    private final String firingId;
    private final String nodeId;
    private final int backendPid;

    private SessionFence(Connection session, String connectionId, String firingId, String nodeId, int backendPid) {
        this.session = session;
        this.connectionId = connectionId;
        this.firingId = firingId;
        this.nodeId = nodeId;
        this.backendPid = backendPid;
    }

    /** Opens a session on {@code database} and takes the connection's lock, waiting while another session holds it. */
    public static SessionFence acquire(PostgresServer pg, String database, String connectionId, String nodeId)
            throws SQLException {
        Connection c = pg.connect(database);
        try (PreparedStatement st = c.prepareStatement("SELECT pg_advisory_lock(hashtext(?)), pg_backend_pid()")) {
            st.setString(1, connectionId);
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                int pid = rs.getInt(2);
                c.setAutoCommit(false);
                return new SessionFence(c, connectionId, nodeId + "-" + pid, nodeId, pid);
            }
        } catch (SQLException e) {
            c.close();
            throw e;
        }
    }

    /** The server process of the fenced session. */
    public int backendPid() {
        return backendPid;
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

    /** One transaction at a time: the firing's tasks share the session. */
    @Override
    public synchronized <T> T commit(Work<T> work) throws FencedException {
        try {
            T result = work.run(session);
            session.commit();
            return result;
        } catch (SQLException | RuntimeException e) {
            try {
                session.rollback();
            } catch (SQLException ignored) {
                // the session is gone: nothing was committed
            }
            throw new FencedException("connection '" + connectionId + "': the fenced commit failed: " + e.getMessage(), e);
        }
    }

    /** Ends the session, and the lock with it. */
    @Override
    public void close() throws SQLException {
        session.close();
    }
}

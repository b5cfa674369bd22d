package io.uplink.mail.internal.collect;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.WeakHashMap;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.uplink.api.cluster.Cluster;

/**
 * In a cluster, at most one IDLE session per collector cluster-wide: a node idles on a collector only while it
 * holds that collector's lease, a session-level PostgreSQL advisory lock ({@code pg_try_advisory_lock(bigint)}).
 * All of a node's leases sit on one database session of its own, taken from the pool while any is held, so hundreds
 * of idling collectors cost one session, not one each. A killed node's session (and with it its leases) ends at
 * once; a paused node's ends after {@code idle_session_timeout}, which the watcher's checks ({@link #held}, every
 * few seconds) keep from running out while the node is alive. Another node then takes the lease at its next check.
 *
 * <p>The lock key is the first 8 bytes of SHA-256 of {@code "uplink-idle:" + collector id}, in the one-key
 * (bigint) space, which the firings' fences (two-key space) never use.
 */
final class IdleLeases {

    private static final Logger LOG = LoggerFactory.getLogger(IdleLeases.class);
    /** One per cluster service (several in one JVM in the tests: one per node). */
    private static final Map<Cluster, IdleLeases> BY_CLUSTER = new WeakHashMap<>();
    private static final String HOLDS = "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"
            + " AND pid = pg_backend_pid() AND classid::bigint = ? AND objid::bigint = ? AND objsubid = 1 AND granted)";
    private static final String HOLDER = "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a"
            + " ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.classid::bigint = ? AND l.objid::bigint = ?"
            + " AND l.objsubid = 1 AND l.granted";
    static final String APPLICATION = "uplink idle ";

    private final Cluster cluster;
    private final Duration timeout;
    private final Set<String> held = new HashSet<>();
    private Connection session;

    private IdleLeases(Cluster cluster, Duration timeout) {
        this.cluster = cluster;
        this.timeout = timeout;
    }

    /**
     * The leases of this node of {@code cluster}; {@code timeout} is how long a silent node keeps them (at least
     * three of the watcher's checks).
     */
    static IdleLeases of(Cluster cluster, Duration timeout) {
        synchronized (BY_CLUSTER) {
            return BY_CLUSTER.computeIfAbsent(cluster, c -> new IdleLeases(c, timeout));
        }
    }

    String nodeId() {
        return cluster.nodeId();
    }

    /**
     * Takes the collector's lease for this node.
     *
     * @return empty when this node holds it now, else who holds it, in words
     * @throws SQLException when the cluster's database does not answer
     */
    synchronized Optional<String> take(String collectorId) throws SQLException {
        long key = key(collectorId);
        try {
            Connection c = session();
            try (PreparedStatement st = c.prepareStatement("SELECT pg_try_advisory_lock(?)")) {
                st.setLong(1, key);
                try (ResultSet rs = st.executeQuery()) {
                    rs.next();
                    if (rs.getBoolean(1)) {
                        held.add(collectorId);
                        return Optional.empty();
                    }
                }
            }
            try (PreparedStatement st = c.prepareStatement(HOLDER)) {
                st.setLong(1, key >>> 32);
                st.setLong(2, key & 0xFFFF_FFFFL);
                try (ResultSet rs = st.executeQuery()) {
                    String app = rs.next() ? rs.getString(1) : null;
                    return Optional.of(app != null && app.startsWith(APPLICATION)
                            ? "node '" + app.substring(APPLICATION.length()) + "' keeps its IDLE session"
                            : "another node keeps its IDLE session");
                }
            }
        } catch (SQLException e) {
            drop();
            throw e;
        }
    }

    /** Whether this node still holds the collector's lease (a look at the server: also keeps the session alive). */
    synchronized boolean held(String collectorId) {
        if (!held.contains(collectorId) || session == null) {
            return false;
        }
        long key = key(collectorId);
        try (PreparedStatement st = session.prepareStatement(HOLDS)) {
            st.setLong(1, key >>> 32);
            st.setLong(2, key & 0xFFFF_FFFFL);
            try (ResultSet rs = st.executeQuery()) {
                if (rs.next() && rs.getBoolean(1)) {
                    return true;
                }
            }
            held.remove(collectorId);
            return false;
        } catch (SQLException e) {
            LOG.warn("node '{}': the database session holding the IDLE leases ended ({}); idling stops until a lease is"
                    + " taken again", cluster.nodeId(), e.getMessage());
            drop();
            return false;
        }
    }

    /** Gives the collector's lease up; the session goes back to the pool once no lease is held. */
    synchronized void release(String collectorId) {
        if (!held.remove(collectorId) || session == null) {
            return;
        }
        try (PreparedStatement st = session.prepareStatement("SELECT pg_advisory_unlock(?)")) {
            st.setLong(1, key(collectorId));
            st.execute();
        } catch (SQLException e) {
            LOG.debug("node '{}': releasing the IDLE lease of collector '{}': {}", cluster.nodeId(), collectorId,
                    e.getMessage());
            drop();
            return;
        }
        if (held.isEmpty()) {
            try (Statement st = session.createStatement()) {
                st.execute("RESET idle_session_timeout");
                st.execute("RESET application_name");
            } catch (SQLException e) {
                LOG.debug("node '{}': resetting the IDLE lease session: {}", cluster.nodeId(), e.getMessage());
            }
            drop();
        }
    }

    private Connection session() throws SQLException {
        if (session != null && !session.isClosed()) {
            return session;
        }
        Connection c = cluster.dataSource().getConnection();
        try {
            c.setAutoCommit(true);
            // a database cut off must not hold up the watcher (which checks every idling collector) for ever
            c.setNetworkTimeout(Runnable::run, (int) Math.min(Integer.MAX_VALUE, timeout.toMillis()));
            try (Statement st = c.createStatement()) {
                st.execute("SET idle_session_timeout = " + timeout.toMillis());
            }
            try (PreparedStatement st = c.prepareStatement("SELECT set_config('application_name', ?, false)")) {
                st.setString(1, APPLICATION + cluster.nodeId());
                st.execute();
            }
        } catch (SQLException e) {
            c.close();
            throw e;
        }
        session = c;
        return c;
    }

    /** Forgets the session (broken, or no lease left): its locks go with it. */
    private void drop() {
        held.clear();
        Connection c = session;
        session = null;
        if (c != null) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // the pool drops a broken session
            }
        }
    }

    /** The collector's lock key. */
    static long key(String collectorId) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(("uplink-idle:" + collectorId)
                    .getBytes(StandardCharsets.UTF_8));
            return ByteBuffer.wrap(h, 0, 8).getLong();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }
}

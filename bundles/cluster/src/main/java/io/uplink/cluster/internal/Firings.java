package io.uplink.cluster.internal;

import io.uplink.api.FiringResult;
import io.uplink.api.MailCounts;
import io.uplink.api.Outcome;
import io.uplink.api.cluster.Cluster.RunningFiring;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

import javax.sql.DataSource;

/**
 * The firings of the whole cluster in {@code uplink_firing}: requests (WAITING, at most one per connection),
 * firings RUNNING on a node, and the history (ENDED with the result, INTERRUPTED when their node died and another
 * took over).
 */
final class Firings {

    static final String WAITING = "WAITING";
    static final String RUNNING = "RUNNING";
    static final String ENDED = "ENDED";
    static final String INTERRUPTED = "INTERRUPTED";

    /** A firing claimed by a node: its id, cause, and the firing it takes over (or {@code null}). */
    record Claim(String firingId, String cause, String tookOver, String tookOverNode) {
    }

    /** A request: the firing that serves it, and whether this request made it (false: coalesced). */
    record Request(String firingId, boolean created) {
    }

    private final DataSource ds;

    Firings(DataSource ds) {
        this.ds = ds;
    }

    static String newId() {
        return UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    }

    /** The connection's advisory-lock key, made on first use (a serial: no two connections share one). */
    static int lockKey(Connection c, String connectionId) throws SQLException {
        Optional<Integer> known = knownKey(c, connectionId);
        if (known.isPresent()) {
            return known.get();
        }
        // an insert that conflicts still uses up a serial value: only when the connection has none yet
        try (PreparedStatement st = c.prepareStatement("INSERT INTO uplink_connection (connection_id) VALUES (?)"
                + " ON CONFLICT (connection_id) DO NOTHING")) {
            st.setString(1, connectionId);
            st.executeUpdate();
        }
        return knownKey(c, connectionId).orElseThrow(() -> new SQLException("no lock key for connection '" + connectionId + "'"));
    }

    private static Optional<Integer> knownKey(Connection c, String connectionId) throws SQLException {
        try (PreparedStatement st = c.prepareStatement("SELECT lock_key FROM uplink_connection WHERE connection_id = ?")) {
            st.setString(1, connectionId);
            try (ResultSet rs = st.executeQuery()) {
                return rs.next() ? Optional.of(rs.getInt(1)) : Optional.empty();
            }
        }
    }

    int lockKey(String connectionId) throws SQLException {
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(true);
            return lockKey(c, connectionId);
        }
    }

    /**
     * Adds a request unless one has not started yet (then this one is served by it).
     *
     * @param c a session in a transaction or in auto-commit
     */
    static Request request(Connection c, String connectionId, String cause) throws SQLException {
        for (int attempt = 0; attempt < 20; attempt++) {
            try (PreparedStatement st = c.prepareStatement("INSERT INTO uplink_firing"
                    + " (firing_id, connection_id, cause, state, requested) VALUES (?, ?, ?, 'WAITING', clock_timestamp())"
                    + " ON CONFLICT (connection_id) WHERE state = 'WAITING' DO NOTHING")) {
                String id = newId();
                st.setString(1, id);
                st.setString(2, connectionId);
                st.setString(3, cause);
                if (st.executeUpdate() == 1) {
                    return new Request(id, true);
                }
            }
            Optional<String> waiting = waiting(c, connectionId);
            if (waiting.isPresent()) {
                return new Request(waiting.get(), false);
            }
            // the waiting one started between the two statements: this request needs a new one
        }
        throw new SQLException("no request could be made for connection '" + connectionId + "'");
    }

    static Optional<String> waiting(Connection c, String connectionId) throws SQLException {
        try (PreparedStatement st = c.prepareStatement(
                "SELECT firing_id FROM uplink_firing WHERE connection_id = ? AND state = 'WAITING'")) {
            st.setString(1, connectionId);
            try (ResultSet rs = st.executeQuery()) {
                return rs.next() ? Optional.of(rs.getString(1)) : Optional.empty();
            }
        }
    }

    /**
     * Claims the connection's waiting request for this node. A firing still RUNNING at this point is an orphan
     * (Quartz runs one job per connection at a time, cluster-wide): its node died or was taken for dead. It is
     * marked INTERRUPTED and this claim takes it over.
     *
     * @param run false on a node that may not run the connection: the orphan is only turned into a request, for a
     *        node that may
     * @return the claim, or empty when nothing waits (or {@code run} is false)
     */
    Optional<Claim> claim(String connectionId, String nodeId, boolean run) throws SQLException {
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(false);
            try {
                lockKey(c, connectionId);
                // serialize claims of one connection (its row in uplink_connection)
                try (PreparedStatement st = c.prepareStatement(
                        "SELECT 1 FROM uplink_connection WHERE connection_id = ? FOR UPDATE")) {
                    st.setString(1, connectionId);
                    st.executeQuery().close();
                }
                String orphan = null;
                String orphanNode = null;
                String orphanCause = null;
                try (PreparedStatement st = c.prepareStatement("UPDATE uplink_firing SET state = 'INTERRUPTED',"
                        + " ended = clock_timestamp() WHERE connection_id = ? AND state = 'RUNNING'"
                        + " RETURNING firing_id, node_id, cause")) {
                    st.setString(1, connectionId);
                    try (ResultSet rs = st.executeQuery()) {
                        if (rs.next()) {
                            orphan = rs.getString(1);
                            orphanNode = rs.getString(2);
                            orphanCause = rs.getString(3);
                        }
                    }
                }
                if (orphan != null) {
                    takeOver(c, connectionId, orphan, orphanNode, orphanCause);
                }
                Optional<Claim> out = Optional.empty();
                if (run) {
                    out = claimWaiting(c, connectionId, nodeId);
                }
                c.commit();
                return out;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        }
    }

    private static Optional<Claim> claimWaiting(Connection c, String connectionId, String nodeId) throws SQLException {
        try (PreparedStatement st = c.prepareStatement("UPDATE uplink_firing SET state = 'RUNNING', node_id = ?,"
                + " started = clock_timestamp() WHERE connection_id = ? AND state = 'WAITING'"
                + " RETURNING firing_id, cause, took_over, took_over_node")) {
            st.setString(1, nodeId);
            st.setString(2, connectionId);
            try (ResultSet rs = st.executeQuery()) {
                return rs.next() ? Optional.of(new Claim(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4)))
                        : Optional.empty();
            }
        }
    }

    /** A request (a new one, or the waiting one) that runs an interrupted firing again and says so. */
    private static void takeOver(Connection c, String connectionId, String interrupted, String node, String cause)
            throws SQLException {
        Request r = request(c, connectionId, cause);
        try (PreparedStatement st = c.prepareStatement("UPDATE uplink_firing SET took_over = ?,"
                + " took_over_node = ? WHERE firing_id = ? AND took_over IS NULL")) {
            st.setString(1, interrupted);
            st.setString(2, node);
            st.setString(3, r.firingId());
            st.executeUpdate();
        }
    }

    /**
     * Records a firing's end, on the fence's session (so a node that lost its fence records nothing).
     *
     * @return whether the firing was still this node's to record
     */
    static boolean end(Connection c, String firingId, FiringResult r) throws SQLException {
        try (PreparedStatement st = c.prepareStatement("UPDATE uplink_firing SET state = 'ENDED', ended = clock_timestamp(),"
                + " outcome = ?, result = ? WHERE firing_id = ? AND state = 'RUNNING'")) {
            st.setString(1, r.outcome().name());
            st.setString(2, ResultText.write(r));
            st.setString(3, firingId);
            return st.executeUpdate() == 1;
        }
    }

    /** A firing this node stopped before it ended (node stopping, fence not taken): another node may run it. */
    void handBack(String firingId, String connectionId, String why) throws SQLException {
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(false);
            try {
                String cause = null;
                String node = null;
                try (PreparedStatement st = c.prepareStatement("UPDATE uplink_firing SET state = 'INTERRUPTED',"
                        + " ended = clock_timestamp(), result = ? WHERE firing_id = ? AND state = 'RUNNING'"
                        + " RETURNING cause, node_id")) {
                    st.setString(1, "reason=" + why.replace('\n', ' '));
                    st.setString(2, firingId);
                    try (ResultSet rs = st.executeQuery()) {
                        if (rs.next()) {
                            cause = rs.getString(1);
                            node = rs.getString(2);
                        }
                    }
                }
                if (cause != null) {
                    takeOver(c, connectionId, firingId, node, cause);
                }
                c.commit();
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        }
    }

    Optional<FiringResult> result(String firingId) throws SQLException {
        List<FiringResult> r = select("WHERE firing_id = ? AND state IN ('ENDED', 'INTERRUPTED')", 1, firingId);
        return r.stream().findFirst();
    }

    List<FiringResult> history(String connectionId, int limit) throws SQLException {
        return connectionId == null
                ? select("WHERE state IN ('ENDED', 'INTERRUPTED') ORDER BY started DESC NULLS LAST, ended DESC", limit)
                : select("WHERE connection_id = ? AND state IN ('ENDED', 'INTERRUPTED')"
                        + " ORDER BY started DESC NULLS LAST, ended DESC", limit, connectionId);
    }

    Optional<String> nodeOf(String firingId) throws SQLException {
        try (Connection c = ds.getConnection();
                PreparedStatement st = c.prepareStatement("SELECT node_id FROM uplink_firing WHERE firing_id = ?")) {
            st.setString(1, firingId);
            try (ResultSet rs = st.executeQuery()) {
                return rs.next() ? Optional.ofNullable(rs.getString(1)) : Optional.empty();
            }
        }
    }

    List<RunningFiring> running() throws SQLException {
        List<RunningFiring> out = new ArrayList<>();
        try (Connection c = ds.getConnection();
                PreparedStatement st = c.prepareStatement("SELECT firing_id, connection_id, node_id, started"
                        + " FROM uplink_firing WHERE state = 'RUNNING' ORDER BY started");
                ResultSet rs = st.executeQuery()) {
            while (rs.next()) {
                out.add(new RunningFiring(rs.getString(1), rs.getString(2), rs.getString(3), rs.getTimestamp(4).toInstant()));
            }
        }
        return out;
    }

    private List<FiringResult> select(String where, int limit, String... args) throws SQLException {
        List<FiringResult> out = new ArrayList<>();
        try (Connection c = ds.getConnection();
                PreparedStatement st = c.prepareStatement("SELECT firing_id, connection_id, cause, state, requested,"
                        + " node_id, started, ended, result, took_over, took_over_node FROM uplink_firing " + where
                        + " LIMIT " + Math.max(0, limit))) {
            for (int i = 0; i < args.length; i++) {
                st.setString(i + 1, args[i]);
            }
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    out.add(toResult(rs));
                }
            }
        }
        return out;
    }

    private static FiringResult toResult(ResultSet rs) throws SQLException {
        String id = rs.getString(1);
        String connection = rs.getString(2);
        String state = rs.getString(4);
        String node = rs.getString(6);
        String text = rs.getString(9);
        String tookOver = rs.getString(10);
        String tookOverNode = rs.getString(11);
        String takeover = tookOver == null ? "" : "took over firing " + tookOver + " of node " + tookOverNode + "; ";
        if (ENDED.equals(state)) {
            FiringResult r = ResultText.read(text);
            return takeover.isEmpty() ? r : new FiringResult(r.firingId(), r.connectionId(), r.connectionName(),
                    r.cause(), r.started(), r.ended(), r.outcome(), takeover + r.summary(), r.counts(), r.phases(),
                    r.errors(), r.fallback());
        }
        // INTERRUPTED: its node died (or stopped) while it ran; the firing that took it over says so too
        Instant started = time(rs.getTimestamp(7), rs.getTimestamp(5));
        Instant ended = time(rs.getTimestamp(8), started == null ? null : Timestamp.from(started));
        String why = text != null && text.startsWith("reason=") ? text.substring("reason=".length())
                : "node " + node + " stopped checking in";
        return new FiringResult(id, connection, connection, rs.getString(3), started, ended, Outcome.FAILED,
                takeover + "interrupted on node " + node + ": " + why + "; taken over by another firing",
                MailCounts.NONE, List.of(), List.of("interrupted on node " + node + ": " + why), null);
    }

    private static Instant time(Timestamp t, Timestamp fallback) {
        return t != null ? t.toInstant() : fallback == null ? null : fallback.toInstant();
    }
}

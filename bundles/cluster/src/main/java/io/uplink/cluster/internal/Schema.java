package io.uplink.cluster.internal;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import org.quartz.impl.jdbcjobstore.JobStoreSupport;

/**
 * Creates the tables when they are missing: Quartz's own ({@code qrtz_*}, from the {@code tables_postgres.sql} inside
 * the Quartz jar) and Uplink's ({@code uplink_*}). Every statement is {@code IF NOT EXISTS}, and the whole setup runs
 * in one transaction under an advisory transaction lock, so two nodes starting at once do not collide and a later
 * version only adds. No migration library: the schema is additive so far (see docs/architecture.md).
 */
final class Schema {

    /** The transaction-level advisory lock (one-key form) held while the schema is set up. */
    static final long SETUP_LOCK = 0x55504C4B_00000001L;
    /** The first half of every fence's advisory lock (two-key form); the second is the connection's key. */
    static final int FENCE_CLASS = 0x55504C4B;

    private static final List<String> UPLINK = List.of(
            "CREATE TABLE IF NOT EXISTS uplink_connection ("
                    + " connection_id varchar(200) PRIMARY KEY,"
                    + " lock_key serial NOT NULL UNIQUE)",
            // one row a firing: requested (WAITING), RUNNING on a node, ENDED with its result, or INTERRUPTED
            "CREATE TABLE IF NOT EXISTS uplink_firing ("
                    + " firing_id varchar(40) PRIMARY KEY,"
                    + " connection_id varchar(200) NOT NULL,"
                    + " cause varchar(500) NOT NULL,"
                    + " state varchar(12) NOT NULL,"
                    + " requested timestamptz NOT NULL,"
                    + " node_id varchar(200),"
                    + " started timestamptz,"
                    + " ended timestamptz,"
                    + " outcome varchar(10),"
                    + " result text,"
                    + " took_over varchar(40),"
                    + " took_over_node varchar(200))",
            // coalescing: at most one request per connection that has not started yet
            "CREATE UNIQUE INDEX IF NOT EXISTS uplink_firing_waiting ON uplink_firing (connection_id)"
                    + " WHERE state = 'WAITING'",
            "CREATE INDEX IF NOT EXISTS uplink_firing_history ON uplink_firing (connection_id, started DESC)",
            "CREATE INDEX IF NOT EXISTS uplink_firing_state ON uplink_firing (state)",
            "CREATE TABLE IF NOT EXISTS uplink_node ("
                    + " node_id varchar(200) PRIMARY KEY,"
                    + " last_checkin timestamptz NOT NULL,"
                    + " checkin_ms bigint NOT NULL,"
                    + " started timestamptz NOT NULL)",
            // a schedule slot fires once cluster-wide, whichever nodes ask for it
            "CREATE TABLE IF NOT EXISTS uplink_schedule_slot ("
                    + " connection_id varchar(200) NOT NULL,"
                    + " slot timestamptz NOT NULL,"
                    + " firing_id varchar(40) NOT NULL,"
                    + " cause varchar(500) NOT NULL,"
                    + " PRIMARY KEY (connection_id, slot))");

    private Schema() {
    }

    /** Creates whatever is missing, in one transaction. */
    static void create(Connection c) throws SQLException, IOException {
        boolean auto = c.getAutoCommit();
        c.setAutoCommit(false);
        try (Statement st = c.createStatement()) {
            st.execute("SELECT pg_advisory_xact_lock(" + SETUP_LOCK + ")");
            for (String sql : quartzTables()) {
                st.execute(sql);
            }
            for (String sql : UPLINK) {
                st.execute(sql);
            }
            c.commit();
        } catch (SQLException | IOException | RuntimeException e) {
            c.rollback();
            throw e;
        } finally {
            c.setAutoCommit(auto);
        }
    }

    /** Quartz's PostgreSQL script as shipped, without its DROPs and COMMIT, every CREATE made IF NOT EXISTS. */
    static List<String> quartzTables() throws IOException {
        String script;
        try (InputStream in = JobStoreSupport.class.getResourceAsStream("tables_postgres.sql")) {
            if (in == null) {
                throw new IOException("tables_postgres.sql is missing from the Quartz bundle");
            }
            script = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        StringBuilder text = new StringBuilder();
        for (String line : script.split("\n")) {
            String t = line.trim();
            if (!t.startsWith("--")) {
                text.append(line).append('\n');
            }
        }
        List<String> out = new ArrayList<>();
        for (String s : text.toString().split(";")) {
            String sql = s.trim();
            String upper = sql.toUpperCase(Locale.ROOT);
            if (upper.startsWith("CREATE TABLE ")) {
                out.add("CREATE TABLE IF NOT EXISTS " + sql.substring("CREATE TABLE ".length()));
            } else if (upper.startsWith("CREATE INDEX ")) {
                out.add("CREATE INDEX IF NOT EXISTS " + sql.substring("CREATE INDEX ".length()));
            } else if (!sql.isEmpty() && !upper.startsWith("DROP ") && !upper.equals("COMMIT")) {
                throw new IOException("unexpected statement in Quartz's tables_postgres.sql: " + sql);
            }
        }
        return out;
    }
}

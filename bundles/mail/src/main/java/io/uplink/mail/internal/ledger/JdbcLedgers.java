package io.uplink.mail.internal.ledger;

import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

import javax.sql.DataSource;

import io.uplink.api.cluster.Cluster;
import io.uplink.api.cluster.Fence;
import io.uplink.api.mail.TaskContext;

/**
 * The cluster's ledger store: every collector's ledger in the shared PostgreSQL database ({@link JdbcLedger}),
 * written through the fence of the firing that runs the collector. Creates its tables when they are missing:
 * <pre>
 * uplink_ledger       (collector, uid) primary key; state pending | stored | deleted | oversized; size;
 *                     stored_at, gone_at (missing from a listing: last seen then), deleted_at, seen_at (oversized);
 *                     unique_name and mailboxes of a pending delivery
 * uplink_ledger_meta  collector primary key; uidvalidity and handled_up_to (IMAP), listed_at (POP3), synced_at
 * </pre>
 */
public final class JdbcLedgers implements LedgerStore {

    static final String SCHEMA = """
            CREATE TABLE IF NOT EXISTS uplink_ledger (
                collector   text NOT NULL,
                uid         text NOT NULL,
                state       text NOT NULL CHECK (state IN ('pending', 'stored', 'deleted', 'oversized')),
                size        bigint NOT NULL,
                stored_at   timestamptz,
                gone_at     timestamptz,
                deleted_at  timestamptz,
                seen_at     timestamptz,
                unique_name text,
                mailboxes   text[],
                PRIMARY KEY (collector, uid)
            );
            CREATE TABLE IF NOT EXISTS uplink_ledger_meta (
                collector     text PRIMARY KEY,
                uidvalidity   bigint NOT NULL DEFAULT 0,
                handled_up_to bigint NOT NULL DEFAULT 0,
                listed_at     timestamptz,
                synced_at     timestamptz
            )""";

    private final DataSource dataSource;
    private final Function<String, Optional<Fence>> fences;
    private final Object owner;
    private volatile boolean schemaReady;

    /**
     * @param dataSource the shared database's sessions, for reading a ledger when it is opened and for the schema
     * @param fences the fence of the firing that runs a connection here, by connection id
     */
    public JdbcLedgers(DataSource dataSource, Function<String, Optional<Fence>> fences) {
        this(dataSource, fences, null);
    }

    private JdbcLedgers(DataSource dataSource, Function<String, Optional<Fence>> fences, Object owner) {
        this.dataSource = dataSource;
        this.fences = fences;
        this.owner = owner;
    }

    /** The store of a cluster: its database, and the fences of the firings it runs on this node. */
    public static JdbcLedgers of(Cluster cluster) {
        return new JdbcLedgers(cluster.dataSource(), cluster::fence, cluster);
    }

    /** Whether this is {@code cluster}'s store. */
    public boolean isOf(Cluster cluster) {
        return owner == cluster;
    }

    @Override
    public Ledger open(String collectorId, TaskContext context, Instant now, Ledger.Settle settle) throws IOException {
        Fence fence = fences.apply(context.connectionId()).orElseThrow(() -> new IOException("collector '" + collectorId
                + "': connection '" + context.connectionId() + "' holds no fence on this node, so the ledger in the"
                + " cluster's database cannot be written (in a cluster a collector runs only in a firing)"));
        createSchema();
        return JdbcLedger.open(dataSource, fence, collectorId, context, now, settle);
    }

    @Override
    public List<Ledger.Oversized> oversized(String collectorId) throws IOException {
        createSchema();
        List<Ledger.Oversized> out = new ArrayList<>();
        try (Connection c = dataSource.getConnection();
                PreparedStatement st = c.prepareStatement("SELECT uid, size, (extract(epoch from seen_at) * 1000)::bigint"
                        + " FROM uplink_ledger WHERE collector = ? AND state = 'oversized' ORDER BY seen_at, uid")) {
            st.setString(1, collectorId);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    out.add(new Ledger.Oversized(rs.getString(1), rs.getLong(2), rs.getLong(3)));
                }
            }
        } catch (SQLException e) {
            throw new IOException("collector '" + collectorId + "': cannot read its ledger from the cluster's database: "
                    + e.getMessage(), e);
        }
        return out;
    }

    /** Creates the tables when missing; under a transaction lock, as two nodes may start at once. */
    private void createSchema() throws IOException {
        if (schemaReady) {
            return;
        }
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                st.execute("SELECT pg_advisory_xact_lock(hashtext('uplink_ledger_schema'))");
                st.execute(SCHEMA);
                c.commit();
            } catch (SQLException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new IOException("cannot create the ledger tables in the cluster's database: " + e.getMessage(), e);
        }
        schemaReady = true;
    }
}

package io.uplink.mail.internal.ledger;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import javax.sql.DataSource;

import org.junit.After;
import org.junit.AfterClass;
import org.junit.Before;
import org.junit.BeforeClass;
import org.junit.Test;
import org.postgresql.ds.PGSimpleDataSource;

import io.uplink.api.cluster.Fence;
import io.uplink.api.cluster.FencedException;
import io.uplink.api.mail.TaskContext;
import io.uplink.mail.internal.store.Maildir;
import io.uplink.testsupport.PostgresServer;
import io.uplink.testsupport.SessionFence;

/**
 * The ledger contract against PostgreSQL (a private server, one database for the class, a collector per test, a
 * fence per test over a session holding an advisory lock), and what only the database store has: the fence, and
 * two nodes on one collector.
 */
public class JdbcLedgerTest extends LedgerContract {

    private static PostgresServer pg;
    private static String db;
    private static DataSource dataSource;
    private static final AtomicInteger COLLECTORS = new AtomicInteger();

    private String collector;
    private SessionFence fence;

    @BeforeClass
    public static void startPostgres() throws Exception {
        pg = PostgresServer.start(false);
        db = pg.createDatabase();
        dataSource = dataSource(db);
    }

    @AfterClass
    public static void stopPostgres() throws Exception {
        if (pg != null) {
            pg.close();
        }
    }

    private static DataSource dataSource(String database) {
        PGSimpleDataSource ds = new PGSimpleDataSource();
        ds.setUrl(pg.url(database));
        ds.setUser(pg.user());
        return ds;
    }

    @Before
    public void fence() throws Exception {
        collector = "c" + COLLECTORS.incrementAndGet();
        fence = SessionFence.acquire(pg, db, "office", "node-a");
    }

    @After
    public void release() throws Exception {
        fence.close();
    }

    @Override
    protected Ledger open(Instant now, Ledger.Settle settle) throws Exception {
        return open(fence, now, settle, true);
    }

    private Ledger open(Fence f, Instant now, Ledger.Settle settle, boolean wait) throws IOException {
        return new JdbcLedgers(dataSource, id -> Optional.of(f)).open(collector, context(f.connectionId(), wait), now, settle);
    }

    /** The node dies: its session ends (and its locks with it); another node takes the connection over. */
    @Override
    protected void crash(Ledger ledger) throws Exception {
        terminate(fence);
        fence = SessionFence.acquire(pg, db, "office", "node-b");
    }

    private static void terminate(SessionFence f) throws SQLException {
        try (Connection c = pg.connect(db); Statement st = c.createStatement()) {
            st.execute("SELECT pg_terminate_backend(" + f.backendPid() + ", 10000)");
        }
    }

    private static TaskContext context(String connection, boolean wait) {
        return new TaskContext() {
            @Override
            public String connectionId() {
                return connection;
            }

            @Override
            public String connectionName() {
                return connection;
            }

            @Override
            public String firingId() {
                return "f-" + connection;
            }

            @Override
            public boolean linkUp() {
                return wait;
            }

            @Override
            public void progress(String message, int done, int total) {
            }
        };
    }

    /** The collector's rows as "uid state", sorted. */
    private List<String> rows() throws SQLException {
        List<String> out = new ArrayList<>();
        try (Connection c = pg.connect(db);
                PreparedStatement st = c.prepareStatement("SELECT uid, state FROM uplink_ledger WHERE collector = ? ORDER BY uid")) {
            st.setString(1, collector);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1) + " " + rs.getString(2));
                }
            }
        }
        return out;
    }

    @Test
    public void aLostFenceMakesStoredAndDeletedThrowAndCommitsNothing() throws Exception {
        Ledger l = open(t0, p -> false);
        l.intend("u1", 10, "n1", List.of("alice"));
        l.intend("u2", 10, "n2", List.of("alice"));
        Map<String, Long> first = new LinkedHashMap<>();
        first.put("u1", 10L);
        first.put("u2", 10L);
        l.stored(first, t0);
        l.intend("u3", 10, "n3", List.of("alice"));
        l.sync();
        terminate(fence);

        assertThrows(FencedException.class, () -> l.stored(Map.of("u3", 10L), t0));
        l.deleted("u1", t0);
        assertThrows("the deletion is never recorded, so the server is never asked to delete", FencedException.class, l::sync);
        assertThrows(FencedException.class, () -> l.intend("u4", 10, "n4", List.of("alice")));
        assertThrows(FencedException.class, () -> l.validity(7));
        assertEquals("only what was committed before the fence was lost", List.of("u1 stored", "u2 stored", "u3 pending"), rows());
    }

    @Test
    public void aSecondNodeSettlesThePendingRowsOfTheFirstOnceItIsGone() throws Exception {
        Maildir alice = Maildir.open(tmp.getRoot().toPath().resolve("mailboxes/alice"));
        String delivered = Maildir.uniqueName();
        Ledger a = open(t0, p -> false);
        a.stored("u0", 10, t0);
        a.intend("u1", 5, delivered, List.of("alice"));
        alice.deliver(delivered, out -> out.write("hello".getBytes(java.nio.charset.StandardCharsets.US_ASCII)), true);
        a.intend("u2", 5, Maildir.uniqueName(), List.of("alice"));

        // the same collector linked to a second connection, fired on node B while A still collects it
        try (SessionFence modem = SessionFence.acquire(pg, db, "modem", "node-b")) {
            IOException busy = assertThrows(IOException.class,
                    () -> open(modem, t0, Ledger.inMailboxes(tmp.getRoot().toPath().resolve("mailboxes")), false));
            assertTrue(busy.getMessage(), busy.getMessage().contains("collector '" + collector + "' is being collected by another firing"));
            assertEquals("B settled nothing while A lives", List.of("u0 stored", "u1 pending", "u2 pending"), rows());

            terminate(fence);
            Instant t1 = t0.plusSeconds(30);
            try (Ledger b = open(modem, t1, Ledger.inMailboxes(tmp.getRoot().toPath().resolve("mailboxes")), true)) {
                assertEquals("its file is in the shared Maildir: stored", t1.toEpochMilli(), b.collectedAt("u1", 5));
                assertNull("never delivered: collected again", b.get("u2"));
                assertNotNull(b.get("u0"));
                assertEquals(List.of("u0 stored", "u1 stored"), rows());
            }
        }
    }

    /** A collector linked to two connections: the second firing waits for the first, as on a single node. */
    @Test
    public void aSecondFiringOfTheCollectorWaitsUntilTheFirstClosesItsLedger() throws Exception {
        Ledger a = open(t0, p -> false);
        try (SessionFence modem = SessionFence.acquire(pg, db, "modem", "node-b")) {
            CompletableFuture<Ledger> b = CompletableFuture.supplyAsync(() -> {
                try {
                    return open(modem, t0, p -> false, true);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            a.stored("u1", 10, t0);
            assertFalse("A holds the collector", b.isDone());
            a.close();
            try (Ledger second = b.get(30, TimeUnit.SECONDS)) {
                assertEquals("it reads what A recorded", t0.toEpochMilli(), second.collectedAt("u1", 10));
            }
        }
    }

    @Test
    public void forgottenAndVoidEntriesAreDeletedRows() throws Exception {
        Duration week = Duration.ofDays(7);
        try (Ledger l = open(t0, p -> false)) {
            l.stored(Map.of("1/1", 1L, "1/2", 1L, "1/3", 1L), t0);
            l.validity(1);
            l.refresh(List.of("1/1", "1/2"), t0, week);
            l.refresh(List.of("1/1", "1/2"), t0.plus(Duration.ofDays(8)), week);
        }
        assertEquals("gone for the expiry time: the row is deleted", List.of("1/1 stored", "1/2 stored"), rows());
        try (Ledger l = open(t0, p -> false)) {
            l.validity(2);
            l.stored("2/1", 1, t0);
            l.oversized("2/9", 9_000_000, t0);
        }
        assertEquals(List.of("2/1 stored", "2/9 oversized"), rows());
        assertEquals(List.of(new Ledger.Oversized("2/9", 9_000_000, t0.toEpochMilli())),
                new JdbcLedgers(dataSource, id -> Optional.empty()).oversized(collector));
    }

    @Test
    public void aCollectionWithoutAFenceIsAClearError() {
        IOException e = assertThrows(IOException.class, () -> new JdbcLedgers(dataSource, id -> Optional.empty())
                .open("alice", context("office", true), t0, p -> false));
        assertEquals("collector 'alice': connection 'office' holds no fence on this node, so the ledger in the cluster's"
                + " database cannot be written (in a cluster a collector runs only in a firing)", e.getMessage());
    }

    @Test
    public void nodesStartingTogetherCreateTheTablesOnce() throws Exception {
        String fresh = pg.createDatabase();
        DataSource ds = dataSource(fresh);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<List<Ledger.Oversized>>> starts = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                starts.add(pool.submit(() -> new JdbcLedgers(ds, id -> Optional.empty()).oversized("alice")));
            }
            for (Future<List<Ledger.Oversized>> f : starts) {
                assertEquals(List.of(), f.get());
            }
        } finally {
            pool.shutdownNow();
            pg.dropDatabase(fresh);
        }
    }
}

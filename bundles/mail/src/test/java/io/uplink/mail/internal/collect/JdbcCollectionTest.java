package io.uplink.mail.internal.collect;

import static io.uplink.mail.internal.collect.Fixture.message;
import static io.uplink.mail.internal.collect.Fixture.mime;
import static io.uplink.mail.internal.collect.Fixture.settings;
import static io.uplink.mail.internal.collect.Fixture.subjects;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.After;
import org.junit.AfterClass;
import org.junit.Before;
import org.junit.BeforeClass;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.postgresql.ds.PGSimpleDataSource;

import com.icegreen.greenmail.user.GreenMailUser;
import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;

import io.uplink.api.FiringResult;
import io.uplink.api.cluster.Cluster;
import io.uplink.api.cluster.ClusterNode;
import io.uplink.api.cluster.Fence;
import io.uplink.api.cluster.FencedException;
import io.uplink.api.config.Settings;
import io.uplink.api.mail.CollectReport;
import io.uplink.mail.internal.auth.SignIn;
import io.uplink.mail.internal.ledger.JdbcLedgers;
import io.uplink.testsupport.MovableClock;
import io.uplink.testsupport.PostgresServer;
import io.uplink.testsupport.SessionFence;

/**
 * Collecting from a real POP3/IMAP server (GreenMail) with the ledger in PostgreSQL, as a cluster node does: the
 * server deletes only what the database holds, and a firing that loses its fence deletes nothing.
 */
public class JdbcCollectionTest {

    private static PostgresServer pg;

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private String db;
    private PGSimpleDataSource dataSource;
    private GreenMail greenMail;
    private GreenMailUser alice;
    private Path dir;
    private final MovableClock clock = new MovableClock(Instant.parse("2026-03-01T10:00:00Z"));

    @BeforeClass
    public static void startPostgres() throws Exception {
        pg = PostgresServer.start(false);
    }

    @AfterClass
    public static void stopPostgres() throws Exception {
        if (pg != null) {
            pg.close();
        }
    }

    @Before
    public void start() throws Exception {
        db = pg.createDatabase();
        dataSource = new PGSimpleDataSource();
        dataSource.setUrl(pg.url(db));
        dataSource.setUser(pg.user());
        greenMail = new GreenMail(new ServerSetup[] {
            new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_POP3),
            new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_IMAP)});
        greenMail.start();
        alice = greenMail.setUser("alice@example.com", "alice", "s3cret-pw");
        dir = tmp.getRoot().toPath();
    }

    @After
    public void stop() throws Exception {
        greenMail.stop();
        pg.dropDatabase(db);
    }

    private List<String> deliver(int n) throws Exception {
        List<String> subjects = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String s = String.format("message %04d", i);
            alice.deliver(mime(message("bob@example.net", "alice@example.com", s, "Hello " + s)));
            subjects.add(s);
        }
        return subjects;
    }

    private int onServer() throws Exception {
        return greenMail.getManagers().getImapHostManager().getInbox(alice).getMessageCount();
    }

    private Settings collector(String protocol, int port) {
        return settings("alice", "connections", "office", "protocol", protocol, "host", "127.0.0.1", "port",
                String.valueOf(port), "security", "none", "username", "alice", "password", "s3cret-pw",
                "deliverTo", "alice", "timeout", "20s");
    }

    private CollectReport collect(Settings s, Fence fence) throws InterruptedException {
        CollectorSettings c = CollectorSettings.of(s);
        return Collection.of(c, dir.resolve("mailboxes"), new JdbcLedgers(dataSource, id -> Optional.of(fence)), clock,
                SignIn.password(c.password)).run(new Fixture.Context());
    }

    /** The collector's rows by state. */
    private Map<String, Integer> states() throws SQLException {
        Map<String, Integer> out = new TreeMap<>();
        try (Connection c = pg.connect(db); PreparedStatement st = c.prepareStatement(
                "SELECT state, count(*) FROM uplink_ledger WHERE collector = 'alice' GROUP BY state")) {
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    out.put(rs.getString(1), rs.getInt(2));
                }
            }
        }
        return out;
    }

    @Test
    public void imapCollectsOnceAndTheServerDeletesOnlyWhatTheDatabaseHolds() throws Exception {
        List<String> expected = deliver(150);
        try (SessionFence fence = SessionFence.acquire(pg, db, "office", "node-a");
                CommandProxy proxy = new CommandProxy(new InetSocketAddress("127.0.0.1", greenMail.getImap().getPort()),
                        l -> l.startsWith("C: ") && l.contains("\\Deleted"))) {
            CompletableFuture<CollectReport> run = CompletableFuture.supplyAsync(() -> {
                try {
                    return collect(collector("imap", proxy.port()), fence);
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            String held = proxy.awaitHeld(60, TimeUnit.SECONDS);
            assertNotNull("the collector asked the server to delete", held);
            assertEquals("when it asks, every message is committed as stored: " + held, Map.of("stored", 150), states());
            assertEquals(150, onServer());
            proxy.close();
            CollectReport cut = run.get(60, TimeUnit.SECONDS);
            assertTrue(cut.errors().toString(), !cut.errors().isEmpty());
        }
        try (SessionFence fence = SessionFence.acquire(pg, db, "office", "node-a")) {
            CollectReport again = collect(collector("imap", greenMail.getImap().getPort()), fence);
            assertEquals(again.errors().toString(), List.of(), again.errors());
            assertEquals("stored already: deleted, not collected again", 0, again.collected());
        }
        assertEquals(0, onServer());
        assertEquals(expected, subjects(dir.resolve("mailboxes/alice")));
        assertEquals(Map.of("deleted", 150), states());
    }

    /** A node of a cluster: the collector component finds the Cluster service and keeps its ledger in the database. */
    @Test
    public void theCollectorKeepsItsLedgerInTheClusterDatabaseAndInAFileWithoutACluster() throws Exception {
        deliver(3);
        Path data = dir.resolve("data");
        java.util.Map<String, Object> props = new java.util.HashMap<>();
        props.put("service.pid", "io.uplink.collector~alice");
        props.put("felix.fileinstall.filename", "file:/opt/uplink/etc/io.uplink.collector-alice.cfg");
        Settings s = collector("pop3", greenMail.getPop3().getPort());
        for (String key : s.keys()) {
            props.put(key, s.string(key, null));
        }
        MailCollectorComponent component = new MailCollectorComponent(data, null, null, java.time.Duration.ofSeconds(1), props);
        try (SessionFence fence = SessionFence.acquire(pg, db, "office", "node-a")) {
            component.cluster = new Cluster() {
                @Override
                public String nodeId() {
                    return "node-a";
                }

                @Override
                public javax.sql.DataSource dataSource() {
                    return dataSource;
                }

                @Override
                public Optional<Fence> fence(String connectionId) {
                    return connectionId.equals(fence.connectionId()) ? Optional.of(fence) : Optional.empty();
                }

                @Override
                public String request(String connectionId, String cause) {
                    throw new UnsupportedOperationException();
                }

                @Override
                public Optional<FiringResult> result(String firingId) {
                    throw new UnsupportedOperationException();
                }

                @Override
                public List<FiringResult> history(String connectionId, int limit) {
                    throw new UnsupportedOperationException();
                }

                @Override
                public Optional<String> nodeOf(String firingId) {
                    throw new UnsupportedOperationException();
                }

                @Override
                public List<RunningFiring> running() {
                    throw new UnsupportedOperationException();
                }

                @Override
                public List<ClusterNode> nodes() {
                    throw new UnsupportedOperationException();
                }
            };
            CollectReport r = component.collect(new Fixture.Context());
            assertEquals(r.errors().toString(), List.of(), r.errors());
            assertEquals(3, r.collected());
        }
        assertEquals(Map.of("deleted", 3), states());
        assertTrue("no ledger file on a cluster node", !java.nio.file.Files.exists(data.resolve("state")));

        component.cluster = null;
        deliver(2);
        CollectReport single = component.collect(new Fixture.Context());
        assertEquals(2, single.collected());
        assertTrue(java.nio.file.Files.exists(data.resolve("state/collector-alice.uidl")));
        assertEquals("the file ledger is the single node's, untouched by the database", Map.of("deleted", 3), states());
    }

    /**
     * The firing's session is ended while it collects (as the cluster does to a node paused past the failure time):
     * its next commit fails, it stops and deletes nothing; the node that takes over settles the pending deliveries
     * from the Maildir and collects the rest, each message once.
     */
    @Test
    public void aLostFenceMidCollectionDeletesNothingAndTheTakeoverCollectsEachMessageOnce() throws Exception {
        List<String> expected = deliver(150);
        AtomicInteger commits = new AtomicInteger();
        try (SessionFence fence = SessionFence.acquire(pg, db, "office", "node-a")) {
            Fence cutAt140 = new Fence() {
                @Override
                public String connectionId() {
                    return fence.connectionId();
                }

                @Override
                public String firingId() {
                    return fence.firingId();
                }

                @Override
                public String nodeId() {
                    return fence.nodeId();
                }

                @Override
                public boolean held() {
                    return fence.held();
                }

                @Override
                public <T> T commit(Work<T> work) throws FencedException {
                    // the first batch (64) is recorded when the second one is full: commit 130 after the lock's
                    if (commits.incrementAndGet() == 140) {
                        try (Connection c = pg.connect(db); Statement st = c.createStatement()) {
                            st.execute("SELECT pg_terminate_backend(" + fence.backendPid() + ", 10000)");
                        } catch (SQLException e) {
                            throw new IllegalStateException(e);
                        }
                    }
                    return fence.commit(work);
                }
            };
            CollectReport cut = collect(collector("imap", greenMail.getImap().getPort()), cutAt140);
            assertTrue(cut.errors().toString(), cut.errors().stream().anyMatch(e -> e.contains("fenced commit failed")));
        }
        assertEquals("nothing deleted on the server", 150, onServer());
        Map<String, Integer> left = states();
        assertTrue("some stored, the last intents pending: " + left, left.getOrDefault("stored", 0) > 0
                && left.getOrDefault("pending", 0) > 0 && !left.containsKey("deleted"));

        try (SessionFence takeover = SessionFence.acquire(pg, db, "office", "node-b")) {
            CollectReport rest = collect(collector("imap", greenMail.getImap().getPort()), takeover);
            assertEquals(rest.errors().toString(), List.of(), rest.errors());
        }
        assertEquals(0, onServer());
        assertEquals("every message exactly once", expected, subjects(dir.resolve("mailboxes/alice")));
        assertEquals(Map.of("deleted", 150), states());
    }
}

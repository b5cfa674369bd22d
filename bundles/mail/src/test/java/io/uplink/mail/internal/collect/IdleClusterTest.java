package io.uplink.mail.internal.collect;

import static org.awaitility.Awaitility.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import javax.sql.DataSource;

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
import io.uplink.testsupport.FakeConnections;
import io.uplink.testsupport.PostgresServer;

/**
 * IMAP IDLE in a cluster: two nodes in one JVM (each its own {@link Cluster} view over one real PostgreSQL) with the
 * same collector on a real IMAP server (GreenMail, behind the counting {@link IdleProxy}). One node cluster-wide
 * keeps the IDLE session; new mail makes the cluster fire the connection instead of a collection outside a firing;
 * when the holder's database session dies, the other node takes the watch over.
 */
public class IdleClusterTest {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static PostgresServer pg;

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private String db;
    private GreenMail greenMail;
    private GreenMailUser alice;
    private IdleProxy proxy;
    private final List<MailCollectorComponent> components = new ArrayList<>();

    @BeforeClass
    public static void startPostgres() throws Exception {
        // GreenMail's handler thread throws when the IDLE session of a node that lost its lease is cut
        org.awaitility.Awaitility.doNotCatchUncaughtExceptionsByDefault();
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
        greenMail = new GreenMail(new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_IMAP));
        greenMail.start();
        alice = greenMail.setUser("alice@example.com", "alice", "s3cret-pw");
        proxy = new IdleProxy(greenMail.getImap().getPort());
    }

    @After
    public void stop() throws Exception {
        for (MailCollectorComponent c : components) {
            c.deactivate();
        }
        proxy.close();
        greenMail.stop();
        pg.dropDatabase(db);
    }

    @Test
    public void oneNodeIdlesNewMailFiresTheConnectionAndTheOtherNodeTakesOverWhenTheHolderDies() throws Exception {
        FakeConnections onA = new FakeConnections().add("office");
        FakeConnections onB = new FakeConnections().add("office");
        Node a = new Node("a");
        Node b = new Node("b");
        MailCollectorComponent ca = collector(a, onA, tmp.newFolder("a").toPath());
        MailCollectorComponent cb = collector(b, onB, tmp.newFolder("b").toPath());

        await().atMost(WAIT.toSeconds(), TimeUnit.SECONDS).until(() -> idling(ca) != idling(cb));
        MailCollectorComponent holder = idling(ca) ? ca : cb;
        MailCollectorComponent other = holder == ca ? cb : ca;
        FakeConnections holderFires = holder == ca ? onA : onB;
        String holderNode = holder == ca ? "a" : "b";
        await().atMost(WAIT.toSeconds(), TimeUnit.SECONDS)
                .until(() -> other.idleSession().state().equals("not idling here: node '" + holderNode
                        + "' keeps its IDLE session"));
        // the session opens with a fire for what arrived while none was open
        await().atMost(WAIT.toSeconds(), TimeUnit.SECONDS).until(() -> fires(holderFires) >= 1);

        int before = fires(holderFires);
        append("first");
        await().atMost(WAIT.toSeconds(), TimeUnit.SECONDS).until(() -> fires(holderFires) > before);
        assertTrue(firesOf(holderFires).stream().allMatch("office idle:alice"::equals));
        assertEquals("new mail is not collected outside a firing: it stays on the server for the firing", 1,
                greenMail.getManagers().getImapHostManager().getInbox(alice).getMessageCount());
        assertFalse(Files.exists(tmp.getRoot().toPath().resolve("a/mailboxes/alice/new")));
        assertFalse(Files.exists(tmp.getRoot().toPath().resolve("b/mailboxes/alice/new")));
        assertEquals("never two IDLE sessions for the collector in the cluster", 1, proxy.mostIdlingAtOnce.get());

        // the holder is cut off from the database, and its session (and with it its lease) ends, as when it dies:
        // the other node takes the watch over
        (holder == ca ? a : b).cutOff();
        terminate("uplink idle " + holderNode);
        await().atMost(WAIT.toSeconds(), TimeUnit.SECONDS).until(() -> idling(other) && !idling(holder));
        await().atMost(WAIT.toSeconds(), TimeUnit.SECONDS).until(() -> proxy.idling.get() == 1);
        proxy.mostIdlingAtOnce.set(proxy.idling.get());
        FakeConnections otherFires = holder == ca ? onB : onA;
        int was = fires(otherFires);
        append("second");
        await().atMost(WAIT.toSeconds(), TimeUnit.SECONDS).until(() -> fires(otherFires) > was);
        assertEquals(1, proxy.mostIdlingAtOnce.get());
        await().atMost(WAIT.toSeconds(), TimeUnit.SECONDS).until(() -> holder.idleSession().state().startsWith(
                "not idling here: the cluster database does not answer"));
    }

    @Test
    public void aCollectorStoppedOnTheHoldingNodeHandsTheWatchOver() throws Exception {
        FakeConnections onA = new FakeConnections().add("office");
        FakeConnections onB = new FakeConnections().add("office");
        MailCollectorComponent ca = collector(new Node("a"), onA, tmp.newFolder("a").toPath());
        await().atMost(WAIT.toSeconds(), TimeUnit.SECONDS).until(() -> idling(ca));
        MailCollectorComponent cb = collector(new Node("b"), onB, tmp.newFolder("b").toPath());
        await().atMost(WAIT.toSeconds(), TimeUnit.SECONDS).until(() -> cb.idleSession().state().startsWith(
                "not idling here: node 'a'"));
        ca.deactivate();
        components.remove(ca);
        await().atMost(WAIT.toSeconds(), TimeUnit.SECONDS).until(() -> idling(cb));
        assertEquals(1, proxy.mostIdlingAtOnce.get());
    }

    @Test
    public void whenTheClusterServiceComesTheSessionStartsAgainTheClustersWay() throws Exception {
        FakeConnections connections = new FakeConnections().add("office");
        Path data = tmp.newFolder("single").toPath();
        MailCollectorComponent c = new MailCollectorComponent(data, connections, new IdleTest.Schedule(),
                Duration.ofMillis(200), null, IdleTest.imap(proxy.port()));
        components.add(c);
        await().atMost(WAIT.toSeconds(), TimeUnit.SECONDS).until(() -> idling(c));
        IdleSession single = c.idleSession();
        c.bindCluster(new Node("a"));
        IdleSession clustered = c.idleSession();
        assertTrue(single != clustered && single.awaitEnd(WAIT));
        await().atMost(WAIT.toSeconds(), TimeUnit.SECONDS).until(() -> idling(c));
        int before = fires(connections);
        append("after the cluster came");
        await().atMost(WAIT.toSeconds(), TimeUnit.SECONDS).until(() -> fires(connections) > before);
        assertEquals("the old session ended before the new one idled", 1, proxy.mostIdlingAtOnce.get());
    }

    // ------------------------------------------------------------------ helpers

    private static boolean idling(MailCollectorComponent c) {
        IdleSession s = c.idleSession();
        return s != null && s.state().startsWith("idling");
    }

    private static int fires(FakeConnections c) {
        return firesOf(c).size();
    }

    private static List<String> firesOf(FakeConnections c) {
        synchronized (c) {
            return List.copyOf(c.fired);
        }
    }

    private MailCollectorComponent collector(Node node, FakeConnections connections, Path data) {
        Map<String, Object> m = IdleTest.imap(proxy.port());
        IdleTest.Schedule due = new IdleTest.Schedule();
        MailCollectorComponent c = new MailCollectorComponent(data, connections, due, Duration.ofMillis(200), node, m);
        components.add(c);
        return c;
    }

    private void append(String subject) throws Exception {
        IdleTest.append(greenMail, subject);
    }

    /** Ends the database sessions of one node's IDLE leases, as the server does when that node dies. */
    private void terminate(String application) throws Exception {
        try (Connection c = pg.connect(db); PreparedStatement st = c.prepareStatement(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = ?")) {
            st.setString(1, application);
            st.executeQuery().close();
        }
    }

    /**
     * One node's view of the cluster, as far as live delivery uses it: its id and the shared database. The rest
     * (firings) is the cluster bundle's and tested there; here a fire goes to the node's connection service.
     */
    private final class Node implements Cluster {
        private final String id;
        private final PGSimpleDataSource ds = new PGSimpleDataSource();

        Node(String id) {
            this.id = id;
            ds.setUrl(pg.url(db));
            ds.setUser(pg.user());
        }

        /** From now on this node cannot reach the database (connection refused). */
        void cutOff() {
            ds.setUrl("jdbc:postgresql://127.0.0.1:1/" + db);
        }

        @Override
        public String nodeId() {
            return id;
        }

        @Override
        public DataSource dataSource() {
            return ds;
        }

        @Override
        public String request(String connectionId, String cause) {
            throw new UnsupportedOperationException("fires go through the connection service");
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

        @Override
        public Optional<Fence> fence(String connectionId) {
            return Optional.empty();
        }
    }
}

package io.uplink.mail.internal.outbox;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.uplink.api.cluster.Fence;
import io.uplink.api.cluster.FencedException;
import io.uplink.api.mail.QueuedMessage;
import io.uplink.api.mail.TaskContext;
import io.uplink.mail.internal.outbox.FileOutbox.Outcome;
import io.uplink.mail.internal.outbox.FileOutbox.Result;
import io.uplink.mail.internal.outbox.FileOutbox.Verdict;
import io.uplink.testsupport.MovableClock;
import io.uplink.testsupport.PostgresServer;
import io.uplink.testsupport.SessionFence;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import javax.sql.DataSource;

import org.junit.After;
import org.junit.AfterClass;
import org.junit.Before;
import org.junit.BeforeClass;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * The PostgreSQL outbox under cluster failures: two "nodes" (two outbox instances on one database), each sending
 * through a fence on a session of its own, and fenced sessions ended by {@code pg_terminate_backend}.
 */
public class JdbcOutboxFenceTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private static PostgresServer pg;
    private String database;
    private DataSource dataSource;
    private final MovableClock clock = new MovableClock(Instant.parse("2026-12-01T10:00:00Z"));
    /** The fences each node holds, by connection id. */
    private final Map<String, Fence> fencesA = new ConcurrentHashMap<>();
    private final Map<String, Fence> fencesB = new ConcurrentHashMap<>();
    private final List<SessionFence> opened = new ArrayList<>();

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
    public void createDatabase() throws Exception {
        database = pg.createDatabase();
        dataSource = JdbcOutboxContractTest.dataSource(pg, database);
    }

    @After
    public void dropDatabase() throws Exception {
        for (SessionFence f : opened) {
            f.close();
        }
        pg.dropDatabase(database);
    }

    private JdbcOutbox node(Map<String, Fence> fences) throws IOException {
        return new JdbcOutbox(dataSource, id -> Optional.ofNullable(fences.get(id)),
                tmp.getRoot().toPath().resolve("postmaster"), FileOutbox.Bounces.POSTMASTER_ONLY, clock,
                FileOutbox.Retry.DEFAULT);
    }

    private SessionFence fence(Map<String, Fence> node, String connection, String firing) throws SQLException {
        SessionFence f = SessionFence.acquire(pg, database, connection, firing, node == fencesA ? "a" : "b");
        opened.add(f);
        node.put(connection, f);
        return f;
    }

    static TaskContext firing(String connection, String firing) {
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
                return firing;
            }

            @Override
            public boolean linkUp() {
                return true;
            }

            @Override
            public void progress(String message, int done, int total) {
            }
        };
    }

    private static QueuedMessage queue(JdbcOutbox o, String to) throws IOException {
        return o.queue(null, List.of(), new ByteArrayInputStream(("From: a@x.org\r\nTo: " + to + "\r\nSubject: s\r\n\r\nx")
                .getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    public void aFenceLostBetweenClaimAndAcceptKeepsTheClaimAndTheNextFiringOnAnotherNodeSendsIt() throws Exception {
        JdbcOutbox a = node(fencesA);
        JdbcOutbox b = node(fencesB);
        QueuedMessage q = queue(a, "b@y.org, c@y.org");
        SessionFence fa = fence(fencesA, "office", "f-a");
        OutboxStore.Sending sa = a.sending(firing("office", "f-a"));
        assertEquals(List.of("b@y.org", "c@y.org"), sa.claim(q.id()).orElseThrow().pending());

        // another connection's firing on the other node leaves a live claim alone
        fence(fencesB, "shop", "f-shop");
        assertTrue(b.sending(firing("shop", "f-shop")).claim(q.id()).isEmpty());
        assertTrue(b.due().isEmpty());

        fa.kill();
        try {
            sa.record(q.id(), Map.of("b@y.org", new Outcome(Verdict.SENT, "250 ok"), "c@y.org",
                    new Outcome(Verdict.SENT, "250 ok")), "relay", true, Runnable::run);
            fail("recorded through a lost fence");
        } catch (FencedException expected) {
            // the node that lost its lock commits nothing
        }
        sa.release(q.id());
        assertTrue("the lost fence's claim is not lost: still queued for both recipients",
                b.get(q.id()).orElseThrow().pending().equals(List.of("b@y.org", "c@y.org")));
        assertEquals(1, b.size());
        assertEquals("due again: the claim's session is gone", List.of(q.id()),
                b.due().stream().map(QueuedMessage::id).toList());

        // the connection's next firing, on the other node, takes the lock the dead session left free
        fence(fencesB, "office", "f-b");
        OutboxStore.Sending sb = b.sending(firing("office", "f-b"));
        assertEquals(List.of("b@y.org", "c@y.org"), sb.claim(q.id()).orElseThrow().pending());
        assertEquals(Result.SENT, sb.record(q.id(), Map.of("b@y.org", new Outcome(Verdict.SENT, "250 ok"), "c@y.org",
                new Outcome(Verdict.SENT, "250 ok")), "relay", true, Runnable::run));
        assertEquals(0, a.size());
    }

    @Test
    public void whatWasCommittedBeforeTheFenceWasLostStaysCommitted() throws Exception {
        JdbcOutbox a = node(fencesA);
        JdbcOutbox b = node(fencesB);
        QueuedMessage q = queue(a, "b@y.org, c@y.org");
        SessionFence fa = fence(fencesA, "office", "f-a");
        OutboxStore.Sending sa = a.sending(firing("office", "f-a"));
        sa.claim(q.id()).orElseThrow();
        assertEquals(Result.DEFERRED, sa.record(q.id(), Map.of("b@y.org", new Outcome(Verdict.SENT, "250 ok"),
                "c@y.org", new Outcome(Verdict.TEMPORARY, "451 later")), "relay", false, Runnable::run));
        sa.claim(q.id()).orElseThrow();
        fa.kill();
        try {
            sa.claim(queue(a, "d@y.org").id());
            fail("claimed through a lost fence");
        } catch (FencedException expected) {
            // and so the sender stops
        }
        fence(fencesB, "office", "f-b");
        assertEquals("b@y.org was accepted and committed: only c@y.org is sent again", List.of("c@y.org"),
                b.sending(firing("office", "f-b")).claim(q.id()).orElseThrow().pending());
    }

    @Test
    public void aFiringWithoutAFenceSendsNothingAndSaysWhy() throws Exception {
        JdbcOutbox a = node(fencesA);
        try {
            a.sending(firing("office", "f-a"));
            fail("sent without a fence");
        } catch (IOException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("connection 'office' holds no cluster fence"));
        }
    }

    @Test
    public void twoNodesStartingAtOnceBothFindTheTables() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            List<Future<JdbcOutbox>> nodes = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                nodes.add(pool.submit(() -> node(fencesA)));
            }
            for (Future<JdbcOutbox> n : nodes) {
                assertEquals(0, n.get().size());
            }
        } finally {
            pool.shutdownNow();
        }
    }
}

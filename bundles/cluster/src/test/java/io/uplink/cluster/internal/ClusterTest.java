package io.uplink.cluster.internal;

import static org.awaitility.Awaitility.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import io.uplink.api.FiringResult;
import io.uplink.api.MailCounts;
import io.uplink.api.Outcome;
import io.uplink.api.cluster.ClusterNode;
import io.uplink.api.cluster.Fence;
import io.uplink.api.cluster.FencedException;
import io.uplink.api.cluster.LocalFirings;
import io.uplink.testsupport.PostgresServer;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

import org.junit.After;
import org.junit.AfterClass;
import org.junit.Before;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * Two or three cluster nodes in one JVM on one real PostgreSQL, each with a real clustered Quartz and its own
 * {@link LocalFirings} that records what it ran: coalescing, schedule slots, fences, recovery and pinning.
 */
public class ClusterTest {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final AtomicInteger NODES = new AtomicInteger();
    private static PostgresServer pg;

    private String db;
    private final List<Node> nodes = new ArrayList<>();

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
    public void database() throws Exception {
        db = pg.createDatabase();
    }

    @After
    public void stopNodes() throws Exception {
        for (Node n : nodes) {
            n.gate.countDown();
            n.close();
        }
        pg.dropDatabase(db);
    }

    /** A firing in progress on one node gets exactly one follow-up, however many nodes ask how often. */
    @Test
    public void fiftyRequestsFromTwoNodesWhileAFiringRunsGiveOneFollowUp() throws Exception {
        Node a = node(null);
        Node b = node(null);
        a.closeGate();
        b.closeGate();
        String first = a.cluster.request("office", "shell");
        await().atMost(WAIT.toSeconds(), TimeUnit.SECONDS).until(() -> a.ran.size() + b.ran.size() == 1);
        ExecutorService pool = Executors.newFixedThreadPool(10);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<String>> asked = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            Node n = i % 2 == 0 ? a : b;
            asked.add(pool.submit(() -> {
                go.await();
                return n.cluster.request("office", "shell");
            }));
        }
        go.countDown();
        Set<String> ids = new HashSet<>();
        for (Future<String> f : asked) {
            ids.add(f.get(30, TimeUnit.SECONDS));
        }
        pool.shutdown();
        assertEquals("every request while the firing runs is served by one follow-up: " + ids, 1, ids.size());
        String followUp = ids.iterator().next();
        assertNotEquals(first, followUp);
        a.gate.countDown();
        b.gate.countDown();
        await().atMost(WAIT.toSeconds(), TimeUnit.SECONDS).until(() -> a.cluster.result(followUp).isPresent());
        assertTrue(b.cluster.result(first).isPresent());
        assertEquals(Outcome.OK, b.cluster.result(followUp).get().outcome());
        List<String> ran = new ArrayList<>(a.ran);
        ran.addAll(b.ran);
        assertEquals("one firing and one follow-up: " + ran, 2, ran.size());
        assertTrue(ran.stream().anyMatch(r -> r.contains(first)) && ran.stream().anyMatch(r -> r.contains(followUp)));
        assertTrue(a.cluster.running().isEmpty());
        assertEquals(2, b.cluster.history("office", 10).size());
        assertTrue(a.cluster.nodeOf(followUp).isPresent());
    }

    /**
     * Every node asks for the same schedule slot (several times): it fires once, cluster-wide, also when the node
     * that would have fired it dies.
     */
    @Test
    public void aSlotAskedByEveryNodeFiresOnce() throws Exception {
        Node a = node(null);
        Node b = node(null);
        Node c = node(null);
        Instant slot = Instant.parse("2026-12-01T08:15:00Z");
        ExecutorService pool = Executors.newFixedThreadPool(9);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<String>> asked = new ArrayList<>();
        for (int i = 0; i < 9; i++) {
            Node n = List.of(a, b, c).get(i % 3);
            asked.add(pool.submit(() -> {
                go.await();
                return n.cluster.requestSlot("office", "schedule:workhours", slot);
            }));
        }
        go.countDown();
        Set<String> ids = new HashSet<>();
        for (Future<String> f : asked) {
            ids.add(f.get(30, TimeUnit.SECONDS));
        }
        pool.shutdown();
        assertEquals(1, ids.size());
        String id = ids.iterator().next();
        await().atMost(WAIT.toSeconds(), TimeUnit.SECONDS).until(() -> c.cluster.result(id).isPresent());
        // asked again after it ran: still the same firing, nothing new
        assertEquals(id, b.cluster.requestSlot("office", "schedule:workhours", slot));
        assertEquals(1, a.ran.size() + b.ran.size() + c.ran.size());
        assertEquals("schedule:workhours", a.cluster.result(id).get().cause());
        // the next slot is a new firing
        String next = a.cluster.requestSlot("office", "schedule:workhours", slot.plusSeconds(900));
        assertNotEquals(id, next);
        await().atMost(WAIT.toSeconds(), TimeUnit.SECONDS).until(() -> a.cluster.result(next).isPresent());

        // the node that asks first dies before its trigger fires (its Quartz is gone): another node fires the slot, once
        Instant late = slot.plusSeconds(1800);
        a.cluster.halt();
        String orphan = a.cluster.requestSlot("office", "schedule:workhours", late);
        assertEquals(orphan, b.cluster.requestSlot("office", "schedule:workhours", late));
        await().atMost(WAIT.toSeconds(), TimeUnit.SECONDS).until(() -> c.cluster.result(orphan).isPresent());
        assertEquals(orphan, c.cluster.requestSlot("office", "schedule:workhours", late));
        assertEquals(3, a.ran.size() + b.ran.size() + c.ran.size());
        assertTrue(b.ran.stream().anyMatch(r -> r.contains(orphan)) || c.ran.stream().anyMatch(r -> r.contains(orphan)));
    }

    /**
     * A second node cannot take a held fence; it takes it once the holder's session is killed or once the holder's
     * heartbeat stops for longer than fence.timeout (a paused node), and the old holder then cannot commit.
     */
    @Test
    public void aFenceIsTakenOnlyAfterItsHolderIsKilledOrPaused() throws Exception {
        Node a = node(null);
        Node b = node(null);
        int key = new Firings(a.ds).lockKey("office");
        List<String> lostA = new CopyOnWriteArrayList<>();
        PgFence held = PgFence.acquire(a.ds, a.settings, "office", "f1", key, a.cluster.heartbeats(), () -> lostA.add("f1"));
        CompletableFuture<PgFence> taking = CompletableFuture.supplyAsync(() -> acquire(b, key, "f2"));
        // the holder keeps committing while the other node tries: the other node does not get the lock
        for (int i = 0; i < 5; i++) {
            held.commit(c -> mark(c, "a" + System.nanoTime()));
            assertFalse("the second node took a held fence", taking.isDone());
        }
        // killed: the server ends the holder's session
        terminate(held.backendPid());
        PgFence second = taking.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertTrue(second.held());
        assertThrows(FencedException.class, () -> held.commit(c -> mark(c, "late")));
        await().atMost(WAIT.toSeconds(), TimeUnit.SECONDS).until(() -> lostA.contains("f1") && !held.held());
        held.close();

        // paused: the holder's heartbeat stops (its thread is held up), the server ends its idle session
        CompletableFuture<PgFence> third = CompletableFuture.supplyAsync(() -> acquire(a, key, "f3"));
        second.commit(c -> mark(c, "b"));
        assertFalse(third.isDone());
        CountDownLatch resume = new CountDownLatch(1);
        b.cluster.heartbeats().submit(() -> {
            resume.await();
            return null;
        });
        PgFence taken = third.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThrows(FencedException.class, () -> second.commit(c -> mark(c, "paused")));
        resume.countDown();
        taken.commit(c -> mark(c, "a again"));
        taken.close();
        second.close();

        // a running firing is told when its fence goes: its thread is interrupted
        a.closeGate();
        String id = a.cluster.request("office", "shell");
        await().atMost(WAIT.toSeconds(), TimeUnit.SECONDS).until(() -> a.cluster.fence("office").isPresent());
        Fence f = a.cluster.fence("office").get();
        assertEquals(id, f.firingId());
        terminate(((PgFence) f).backendPid());
        await().atMost(WAIT.toSeconds(), TimeUnit.SECONDS).until(() -> a.interrupted.contains(id));
        assertFalse(a.cluster.result(id).map(r -> r.outcome() == Outcome.OK).orElse(false));
    }

    /** A node dies during a firing: another node runs it again, and the history shows the takeover. */
    @Test
    public void aDeadNodesFiringIsTakenOverAndTheHistoryShowsIt() throws Exception {
        Node a = node(null);
        Node b = node(id -> false);
        a.closeGate();
        String first = a.cluster.request("office", "shell");
        await().atMost(WAIT.toSeconds(), TimeUnit.SECONDS).until(() -> a.cluster.fence("office").isPresent());
        int pid = ((PgFence) a.cluster.fence("office").get()).backendPid();
        b.runnable = null;
        // killed: no more check-ins, no Quartz, and its sessions are gone with it
        a.cluster.halt();
        terminate(pid);
        await().atMost(WAIT.toSeconds(), TimeUnit.SECONDS).until(() -> b.ran.size() == 1);
        String second = b.ran.get(0).split(" ")[1];
        assertNotEquals(first, second);
        await().atMost(WAIT.toSeconds(), TimeUnit.SECONDS).until(() -> b.cluster.result(second).isPresent());
        List<FiringResult> history = b.cluster.history("office", 10);
        assertEquals(2, history.size());
        FiringResult taken = b.cluster.result(second).get();
        assertEquals(Outcome.OK, taken.outcome());
        assertTrue(taken.summary(), taken.summary().contains("took over firing " + first + " of node " + a.settings.nodeId()));
        FiringResult interrupted = b.cluster.result(first).get();
        assertEquals(Outcome.FAILED, interrupted.outcome());
        assertTrue(interrupted.summary(), interrupted.summary().contains("interrupted on node " + a.settings.nodeId()));
        assertEquals(b.settings.nodeId(), b.cluster.nodeOf(second).get());
        assertFalse(b.cluster.nodes().stream().filter(n -> n.id().equals(a.settings.nodeId())).findFirst().get().alive());
        // the dead node's firing ends after all: it cannot record anything
        a.gate.countDown();
        await().atMost(WAIT.toSeconds(), TimeUnit.SECONDS).until(() -> a.returned.contains(first));
        assertEquals(Outcome.FAILED, b.cluster.result(first).get().outcome());
    }

    /** A node's JVM is killed (SIGKILL) during a firing: another node runs it again, and the history shows it. */
    @Test
    public void aKilledNodesFiringIsTakenOver() throws Exception {
        Node b = node(id -> false);
        String child = "child" + NODES.incrementAndGet();
        java.nio.file.Path err = java.nio.file.Files.createTempFile("uplink-child-node", ".log");
        Process p = new ProcessBuilder(java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), ChildNode.class.getName(), pg.url(db), child, "office")
                .redirectError(err.toFile()).start();
        String first;
        try {
            java.io.BufferedReader out = new java.io.BufferedReader(
                    new java.io.InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            // bounded: a child that never runs the firing fails the test instead of hanging it
            String line = CompletableFuture.supplyAsync(() -> {
                try {
                    return out.readLine();
                } catch (java.io.IOException e) {
                    return null;
                }
            }).get(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertTrue("the child node runs the firing: " + line + "\n" + java.nio.file.Files.readString(err),
                    line != null && line.startsWith("RUNNING "));
            first = line.substring("RUNNING ".length());
            b.runnable = null;
        } finally {
            p.destroyForcibly();
            p.waitFor(30, TimeUnit.SECONDS);
        }
        await().atMost(WAIT.toSeconds(), TimeUnit.SECONDS).until(() -> b.ran.size() == 1);
        String second = b.ran.get(0).split(" ")[1];
        await().atMost(WAIT.toSeconds(), TimeUnit.SECONDS).until(() -> b.cluster.result(second).isPresent());
        assertTrue(b.cluster.result(second).get().summary().contains("took over firing " + first + " of node " + child));
        assertEquals(Outcome.FAILED, b.cluster.result(first).get().outcome());
        assertFalse(b.cluster.nodes().stream().filter(n -> n.id().equals(child)).findFirst().get().alive());
        java.nio.file.Files.deleteIfExists(err);
    }

    /** A node that stops (bundle stop, Karaf shutdown) hands its running firing back; another node runs it again. */
    @Test
    public void aStoppingNodeHandsItsFiringBack() throws Exception {
        Node a = node(null);
        Node b = node(id -> false);
        a.closeGate();
        String first = a.cluster.request("office", "shell");
        await().atMost(WAIT.toSeconds(), TimeUnit.SECONDS).until(() -> a.ran.size() == 1);
        b.runnable = null;
        a.close();
        assertTrue(a.interrupted.contains(first));
        await().atMost(WAIT.toSeconds(), TimeUnit.SECONDS).until(() -> b.ran.size() == 1);
        String second = b.ran.get(0).split(" ")[1];
        await().atMost(WAIT.toSeconds(), TimeUnit.SECONDS).until(() -> b.cluster.result(second).isPresent());
        assertTrue(b.cluster.result(second).get().summary().contains("took over firing " + first));
        assertTrue(b.cluster.result(first).get().summary(),
                b.cluster.result(first).get().summary().contains("node " + a.settings.nodeId() + " stopped"));
    }

    /** Nodes that start at once set the schema up once, without colliding; a later start changes nothing. */
    @Test
    public void theSchemaIsSetUpOnceWhenNodesStartAtOnce() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Object>> setups = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            setups.add(pool.submit(() -> {
                go.await();
                try (Connection c = pg.connect(db)) {
                    Schema.create(c);
                }
                return null;
            }));
        }
        go.countDown();
        for (Future<Object> f : setups) {
            f.get(30, TimeUnit.SECONDS);
        }
        pool.shutdown();
        try (Connection c = pg.connect(db)) {
            Schema.create(c);
            try (Statement st = c.createStatement(); java.sql.ResultSet rs = st.executeQuery("SELECT count(*) FROM"
                    + " information_schema.tables WHERE table_name LIKE 'qrtz%' OR table_name LIKE 'uplink%'")) {
                rs.next();
                assertEquals(11 + 4, rs.getInt(1));
            }
        }
    }

    /** A node's check-in forgets schedule slots older than a week and history older than 90 days, nothing newer. */
    @Test
    public void oldSlotsAndHistoryAreForgotten() throws Exception {
        try (Connection c = pg.connect(db); Statement st = c.createStatement()) {
            Schema.create(c);
            st.execute("INSERT INTO uplink_schedule_slot VALUES ('office', now() - interval '8 days', 'f-old', 'schedule:a'),"
                    + " ('office', now() - interval '6 days', 'f-new', 'schedule:a')");
            st.execute("INSERT INTO uplink_firing (firing_id, connection_id, cause, state, requested, ended) VALUES"
                    + " ('f-old', 'office', 'shell', 'ENDED', now() - interval '91 days', now() - interval '91 days'),"
                    + " ('f-new', 'office', 'shell', 'ENDED', now() - interval '89 days', now() - interval '89 days')");
        }
        node(null);
        try (Connection c = pg.connect(db); Statement st = c.createStatement();
                java.sql.ResultSet rs = st.executeQuery("SELECT (SELECT string_agg(firing_id, ',') FROM uplink_schedule_slot),"
                        + " (SELECT string_agg(firing_id, ',') FROM uplink_firing)")) {
            rs.next();
            assertEquals("f-new", rs.getString(1));
            assertEquals("f-new", rs.getString(2));
        }
    }

    /** A connection only node B may run (a modem wired to it) is run by B, whichever node asks. */
    @Test
    public void aPinnedConnectionRunsOnItsNode() throws Exception {
        Node a = node(id -> !id.equals("modem"));
        Node b = node(null);
        String id = a.cluster.request("modem", "shell");
        await().atMost(WAIT.toSeconds(), TimeUnit.SECONDS).until(() -> b.cluster.result(id).isPresent());
        assertTrue(a.ran.isEmpty());
        assertEquals(1, b.ran.size());
        assertEquals(b.settings.nodeId(), a.cluster.nodeOf(id).get());
        List<ClusterNode> seen = a.cluster.nodes();
        assertEquals(2, seen.size());
        assertTrue(seen.stream().allMatch(ClusterNode::alive));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        NodesCommand.print(a.cluster, new PrintStream(out, true, StandardCharsets.UTF_8));
        String table = out.toString(StandardCharsets.UTF_8);
        assertTrue(table, table.contains(a.settings.nodeId() + " (this node)") && table.contains(b.settings.nodeId())
                && table.contains("alive"));
    }

    // ------------------------------------------------------------------ helpers

    private static PgFence acquire(Node n, int key, String firing) {
        try {
            return PgFence.acquire(n.ds, n.settings, "office", firing, key, n.cluster.heartbeats(), () -> { });
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static int mark(Connection c, String what) throws java.sql.SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("CREATE TABLE IF NOT EXISTS uplink_test_mark (what text)");
            return st.executeUpdate("INSERT INTO uplink_test_mark VALUES ('" + what + "')");
        }
    }

    private void terminate(int pid) throws Exception {
        try (Connection c = pg.connect(db); Statement st = c.createStatement()) {
            st.execute("SELECT pg_terminate_backend(" + pid + ")");
        }
    }

    private Node node(Predicate<String> runnable) throws Exception {
        Node n = new Node(pg.url(db), "n" + NODES.incrementAndGet(), runnable);
        nodes.add(n);
        return n;
    }

    /** One node: its own pool, its own Quartz, its own LocalFirings. */
    private static final class Node implements LocalFirings, AutoCloseable {
        final HikariDataSource ds;
        final NodeSettings settings;
        final PgCluster cluster;
        final List<String> ran = new CopyOnWriteArrayList<>();
        final List<String> interrupted = new CopyOnWriteArrayList<>();
        final List<String> returned = new CopyOnWriteArrayList<>();
        volatile Predicate<String> runnable;
        volatile CountDownLatch gate = new CountDownLatch(0);

        Node(String url, String id, Predicate<String> runnable) throws Exception {
            HikariConfig hc = new HikariConfig();
            hc.setJdbcUrl(url);
            hc.setUsername("postgres");
            hc.setMaximumPoolSize(20);
            hc.setPoolName("pool-" + id);
            ds = new HikariDataSource(hc);
            this.runnable = runnable;
            settings = new NodeSettings(id, Duration.ofMillis(500), Duration.ofMillis(1500), 4);
            cluster = new PgCluster(ds, settings, () -> this);
            cluster.start();
        }

        void closeGate() {
            gate = new CountDownLatch(1);
        }

        @Override
        public boolean canRun(String connectionId) {
            Predicate<String> p = runnable;
            return p == null || p.test(connectionId);
        }

        @Override
        public FiringResult run(String connectionId, String firingId, String cause, Fence fence) throws InterruptedException {
            ran.add(connectionId + " " + firingId + " " + cause);
            Instant start = Instant.now();
            try {
                gate.await();
            } catch (InterruptedException e) {
                interrupted.add(firingId);
                throw e;
            } finally {
                returned.add(firingId);
            }
            return new FiringResult(firingId, connectionId, "Office", cause, start, Instant.now(), Outcome.OK, "sent 0",
                    MailCounts.NONE, List.of(), List.of(), null);
        }

        @Override
        public void close() {
            cluster.stop();
            ds.close();
        }
    }
}

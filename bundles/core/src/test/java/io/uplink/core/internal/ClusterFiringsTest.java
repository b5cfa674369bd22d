package io.uplink.core.internal;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.CoreMatchers.containsString;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThat;
import static org.junit.Assert.assertTrue;

import io.uplink.api.ConnectionState;
import io.uplink.api.ConnectionStatus;
import io.uplink.api.Firing;
import io.uplink.api.FiringResult;
import io.uplink.api.MethodInfo;
import io.uplink.api.NoSuchConnectionException;
import io.uplink.api.Outcome;
import io.uplink.api.cluster.Fence;
import io.uplink.api.mail.CollectReport;
import io.uplink.api.mail.MailCollector;
import io.uplink.api.mail.TaskContext;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * The engine's side of a cluster: two engines (nodes {@code a} and {@code b}) share a {@link MemoryCluster}, the way
 * two Karaf nodes share the cluster bundle's database.
 */
public class ClusterFiringsTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private final MemoryCluster cluster = new MemoryCluster();
    private Engine a;
    private Engine b;
    private TestMethod methodA;
    private TestMethod methodB;
    private MemoryCluster.View viewA;
    private MemoryCluster.View viewB;

    @Before
    public void setUp() {
        methodA = new TestMethod();
        methodB = new TestMethod();
        a = engine(methodA);
        b = engine(methodB);
        viewA = cluster.join("a", a);
        viewB = cluster.join("b", b);
    }

    private static Engine engine(TestMethod m) {
        Engine e = new Engine(Clock.systemUTC());
        e.methodAdded("test", m, new MethodInfo("test", "test.bundle", "1.0.0", "test method"));
        return e;
    }

    @After
    public void tearDown() {
        methodA.gate.countDown();
        methodB.gate.countDown();
        a.close(5_000);
        b.close(5_000);
        cluster.close();
    }

    /** The same file on every node, as with a shared configuration. */
    private void configure(String id, String... kv) {
        for (Engine e : List.of(a, b)) {
            e.configure("io.uplink.connection~" + id, EngineTest.cfg(id, kv));
        }
    }

    /** Runs a firing handed over to node b in a thread of its own, as the cluster's worker thread does. */
    private Thread runOnB(String id, String firingId, String cause, Fence fence, FiringResult[] out) {
        Thread t = new Thread(() -> {
            try {
                out[0] = viewB.local.run(id, firingId, cause, fence);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        t.start();
        return t;
    }

    @Test
    public void aFireGoesThroughTheClusterAndItsHandleEndsWithTheClustersResult() throws Exception {
        configure("office", "node", "b");
        Firing f = a.fire("office", "shell");
        assertEquals(List.of("office shell"), cluster.requests);
        FiringResult r = f.await(WAIT);
        assertEquals("the handle is the cluster's firing", viewA.result(f.id()).orElseThrow(), r);
        assertEquals(f.id(), r.firingId());
        assertEquals(Outcome.OK, r.outcome());
        assertEquals("b", r.node());
        assertEquals("it ran on the node it is pinned to, not where it was asked for", 0, methodA.connects.get());
        assertEquals(1, methodB.connects.get());
    }

    @Test
    public void anUnknownIdIsRefusedHereWithoutAskingTheCluster() {
        try {
            a.fire("nosuch", "shell");
            throw new AssertionError("fired an unknown connection");
        } catch (NoSuchConnectionException e) {
            assertThat(e.getMessage(), containsString("nosuch"));
        }
        assertTrue(cluster.requests.isEmpty());
    }

    @Test
    public void runRunsWithTheGivenFiringIdAndStopsLikeAHangUpWhenTheFenceIsLost() throws Exception {
        configure("office");
        CountDownLatch collecting = new CountDownLatch(1);
        List<Optional<Fence>> seenByTask = new ArrayList<>();
        List<String> taskFiringIds = new ArrayList<>();
        MailCollector alice = new TestCollector("alice", "office") {
            @Override
            public CollectReport collect(TaskContext ctx) throws InterruptedException {
                // what the mail bundle's stores do: find the fence of the firing in progress by connection id
                seenByTask.add(viewB.fence(ctx.connectionId()));
                taskFiringIds.add(ctx.firingId());
                collecting.countDown();
                await().atMost(10, TimeUnit.SECONDS).until(() -> !ctx.linkUp());
                return new CollectReport("alice", 0, 0, List.of());
            }
        };
        // the core component is the engine's MailTasks in the container: it links the collector by its properties
        ConnectionServiceComponent tasks = new ConnectionServiceComponent();
        tasks.bindCollector(alice, Map.of(MailCollector.CONNECTIONS, "office"));
        b.setMail(tasks);
        MemoryCluster.MemoryFence fence = new MemoryCluster.MemoryFence("office", "f-42", "b");
        viewB.fences.put("office", fence);
        FiringResult[] out = new FiringResult[1];
        Thread runner = runOnB("office", "f-42", "schedule:work", fence, out);
        assertTrue(collecting.await(WAIT.toMillis(), TimeUnit.MILLISECONDS));
        assertEquals("the firing in progress is the one the cluster named", "f-42",
                b.status("office").orElseThrow().progress().firingId());
        assertEquals(List.of(Optional.of(fence)), seenByTask);
        assertEquals(List.of("f-42"), taskFiringIds);
        fence.held = false;
        runner.join(WAIT.toMillis());
        assertFalse("run returned when the firing stopped", runner.isAlive());
        FiringResult r = out[0];
        assertEquals("f-42", r.firingId());
        assertEquals("schedule:work", r.cause());
        assertEquals("b", r.node());
        assertEquals(Outcome.PARTIAL, r.outcome());
        assertThat(r.summary(), containsString("stopped: this node lost the cluster lock"));
        assertEquals("the link was taken down", 0, methodB.online.get());
    }

    @Test
    public void aLostFenceAlsoEndsADialThatHasNotConnectedYet() throws Exception {
        configure("modem", "test.block", "true");
        methodB.gate = new CountDownLatch(1);
        MemoryCluster.MemoryFence fence = new MemoryCluster.MemoryFence("modem", "f-7", "b");
        FiringResult[] out = new FiringResult[1];
        Thread runner = runOnB("modem", "f-7", "shell", fence, out);
        assertTrue(methodB.entered.await(WAIT.toMillis(), TimeUnit.MILLISECONDS));
        fence.held = false;
        runner.join(WAIT.toMillis());
        assertFalse(runner.isAlive());
        assertEquals(Outcome.FAILED, out[0].outcome());
        assertThat(out[0].summary(), containsString("lost the cluster lock"));
    }

    @Test
    public void anInterruptedRunStopsItsFiringAndReturnsOnlyOnceItEnded() throws Exception {
        configure("modem", "test.block", "true");
        methodB.gate = new CountDownLatch(1);
        MemoryCluster.MemoryFence fence = new MemoryCluster.MemoryFence("modem", "f-9", "b");
        boolean[] interrupted = new boolean[1];
        ConnectionState[] afterwards = new ConnectionState[1];
        Thread runner = new Thread(() -> {
            try {
                viewB.local.run("modem", "f-9", "shell", fence);
            } catch (InterruptedException e) {
                interrupted[0] = true;
                afterwards[0] = b.status("modem").orElseThrow().state();
            }
        });
        runner.start();
        assertTrue(methodB.entered.await(WAIT.toMillis(), TimeUnit.MILLISECONDS));
        fence.held = false;
        runner.interrupt(); // what the cluster bundle does when the fence's session is lost
        runner.join(WAIT.toMillis());
        assertFalse(runner.isAlive());
        assertTrue(interrupted[0]);
        assertEquals("the fence is given up only when the firing has ended", ConnectionState.IDLE, afterwards[0]);
        assertEquals(0, methodB.online.get());
    }

    @Test
    public void canRunRefusesWhatIsPinnedElsewhereNotConfiguredHereOrInError() {
        configure("modem", "node", "b");
        configure("office");
        configure("broken", "order", "-1");
        assertFalse("pinned to b", viewA.local.canRun("modem"));
        assertTrue(viewB.local.canRun("modem"));
        assertTrue(viewA.local.canRun("office"));
        assertFalse("not configured here", viewA.local.canRun("nosuch"));
        assertFalse("in ERROR", viewA.local.canRun("broken"));
        a.remove("io.uplink.connection~office");
        assertFalse("removed here", viewA.local.canRun("office"));
    }

    @Test
    public void aConnectionWithADeviceMustBePinnedInAClusterButNotOnASingleNode() {
        configure("modem", "test.resource", "serial:/dev/ttyS0");
        ConnectionStatus s = a.status("modem").orElseThrow();
        assertEquals(ConnectionState.ERROR, s.state());
        assertThat(s.reason(), containsString("io.uplink.connection-modem.cfg"));
        assertThat(s.reason(), containsString("'node'"));
        assertThat(s.reason(), containsString("this node is 'a'"));
        assertFalse(viewA.local.canRun("modem"));
        configure("modem", "test.resource", "serial:/dev/ttyS0", "node", "a");
        assertEquals(ConnectionState.IDLE, a.status("modem").orElseThrow().state());
        assertTrue(viewA.local.canRun("modem"));
        assertFalse(viewB.local.canRun("modem"));

        Engine single = engine(new TestMethod());
        try {
            single.configure("io.uplink.connection~modem", EngineTest.cfg("modem", "test.resource", "serial:/dev/ttyS0"));
            assertEquals(ConnectionState.IDLE, single.status("modem").orElseThrow().state());
            configure("modem", "test.resource", "serial:/dev/ttyS0");
            a.setCluster(null);
            assertEquals("leaving the cluster lifts the rule", ConnectionState.IDLE, a.status("modem").orElseThrow().state());
        } finally {
            single.close(1_000);
        }
    }

    @Test
    public void listStatusAndHistoryShowTheNodeThatRunsOrRanEachFiring() throws Exception {
        b.setHistoryStore(new HistoryStore(tmp.getRoot().toPath().resolve("history")));
        configure("office", "node", "b", "test.block", "true");
        configure("home");
        methodB.gate = new CountDownLatch(1);
        Firing f = a.fire("office", "shell");
        assertTrue(methodB.entered.await(WAIT.toMillis(), TimeUnit.MILLISECONDS));
        ConnectionStatus onA = a.status("office").orElseThrow();
        assertEquals(ConnectionState.REMOTE, onA.state());
        assertEquals("b", onA.node());
        assertThat(onA.reason(), containsString("firing " + f.id() + " on node 'b'"));
        ConnectionStatus onB = b.status("office").orElseThrow();
        assertEquals(ConnectionState.CONNECTING, onB.state());
        assertEquals("b", onB.node());
        methodB.gate.countDown();
        f.await(WAIT);
        a.fire("home", "web").await(WAIT);

        Map<String, ConnectionStatus> list = new java.util.TreeMap<>();
        for (ConnectionStatus s : a.list()) {
            list.put(s.id(), s);
        }
        assertEquals(ConnectionState.IDLE, list.get("office").state());
        assertEquals("b", list.get("office").node());
        assertEquals("b", list.get("office").lastResult().node());
        assertEquals(f.id(), list.get("office").lastResult().firingId());
        assertEquals("home ran on the first node that may run it", "a", list.get("home").node());
        List<FiringResult> history = b.history(null, 10);
        assertEquals(List.of("home@a", "office@b"), history.stream().map(r -> r.connectionId() + "@" + r.node()).toList());
        assertEquals(1, a.history("office", 10).size());
        assertFalse("the node's own history file is not used in a cluster",
                Files.exists(tmp.getRoot().toPath().resolve("history").resolve("office.log")));
    }

    @Test
    public void aSingleNodeShowsNoNodeAndKeepsItsHistoryFile() throws Exception {
        Engine single = engine(new TestMethod());
        Path dir = tmp.getRoot().toPath().resolve("single");
        try {
            single.setHistoryStore(new HistoryStore(dir));
            single.configure("io.uplink.connection~office", EngineTest.cfg("office", "node", "elsewhere"));
            FiringResult r = single.fire("office", "shell").await(WAIT);
            assertEquals("a node key is ignored on a single node", Outcome.OK, r.outcome());
            assertNull(r.node());
            ConnectionStatus s = single.list().get(0);
            assertNull(s.node());
            assertNull(s.lastResult().node());
            assertEquals(r, single.history("office", 5).get(0));
            assertTrue(Files.exists(dir.resolve("office.log")));
        } finally {
            single.close(1_000);
        }
    }

    @Test
    public void defaultsFireOneAfterTheOtherEachThroughTheCluster() throws Exception {
        configure("first", "default", "true", "order", "1", "test.block", "true");
        configure("second", "default", "true", "order", "2");
        methodA.gate = new CountDownLatch(1);
        List<Firing> handles = b.fireDefaults("shell");
        assertEquals(2, handles.size());
        assertTrue(methodA.entered.await(WAIT.toMillis(), TimeUnit.MILLISECONDS));
        assertEquals("the second is asked for only when the first has ended", List.of("first shell"),
                List.copyOf(cluster.requests));
        methodA.gate.countDown();
        FiringResult second = handles.get(1).await(WAIT);
        assertEquals("second", second.connectionId());
        assertEquals(Outcome.OK, second.outcome());
        assertTrue(handles.get(0).isDone());
        assertEquals(handles.get(0).id(), handles.get(0).await(WAIT).firingId());
        assertEquals(List.of("first shell", "second shell"), List.copyOf(cluster.requests));
    }

    @Test
    public void aSlotFromEveryNodesSchedulerFiresTheConnectionOnce() throws Exception {
        configure("office");
        Instant slot = Instant.parse("2026-12-01T08:15:00Z");
        Firing fromA = a.fire("office", "schedule:work", slot);
        Firing fromB = b.fire("office", "schedule:work", slot);
        assertEquals(fromA.id(), fromB.id());
        assertEquals(Outcome.OK, fromB.await(WAIT).outcome());
        fromA.await(WAIT);
        assertEquals(List.of("office schedule:work @" + slot, "office schedule:work @" + slot), List.copyOf(cluster.requests));
        assertEquals(1, methodA.connects.get() + methodB.connects.get());
    }

    @Test
    public void aFallbackGoesThroughTheClusterToTheNodeItIsPinnedTo() throws Exception {
        configure("router", "node", "a", "test.fail", "router is dead", "fallback", "modem");
        configure("modem", "node", "b", "test.resource", "serial:/dev/ttyS0");
        FiringResult r = b.fire("router", "shell").await(WAIT);
        assertEquals("a", r.node());
        assertEquals(Outcome.FAILED, r.outcome());
        assertThat(r.summary(), containsString("fell back to 'modem'"));
        await().atMost(10, TimeUnit.SECONDS).until(() -> a.history("modem", 1).size() == 1);
        FiringResult fb = a.history("modem", 1).get(0);
        assertEquals("fallback:router", fb.cause());
        assertEquals("b", fb.node());
        assertEquals(Outcome.OK, fb.outcome());
        assertEquals(Integer.valueOf(1), Optional.ofNullable(methodB.perConnection.get("modem")).map(x -> x.get()).orElse(0));
    }

    @Test
    public void aFallbackLoopIsRefusedAcrossNodes() throws Exception {
        configure("x", "node", "a", "test.fail", "down", "fallback", "y");
        configure("y", "node", "b", "test.fail", "down", "fallback", "x");
        a.fire("x", "shell").await(WAIT);
        await().atMost(10, TimeUnit.SECONDS).until(() -> a.history("y", 1).size() == 1);
        FiringResult y = a.history("y", 1).get(0);
        assertThat(y.summary(), containsString("fallback loop refused: x -> y -> x"));
        assertEquals(List.of("x shell", "y fallback:x"), List.copyOf(cluster.requests));
    }

    @Test
    public void whenTheClusterServiceLeavesTheFiringsItHandedOverStopAndWaitersAreTold() throws Exception {
        configure("office", "node", "b", "test.block", "true");
        methodB.gate = new CountDownLatch(1);
        Firing first = a.fire("office", "shell");
        assertTrue(methodB.entered.await(WAIT.toMillis(), TimeUnit.MILLISECONDS));
        b.setCluster(null);
        FiringResult r = first.await(WAIT);
        assertEquals(Outcome.FAILED, r.outcome());
        assertThat(r.summary(), containsString("the cluster service left this node"));

        Firing waiting = a.fire("office", "shell");
        a.setCluster(null);
        FiringResult told = waiting.await(WAIT);
        assertEquals(Outcome.FAILED, told.outcome());
        assertThat(told.summary(), containsString("the cluster service left this node before the firing's result was known"));
        assertEquals("a node without the cluster fires on its own again", Outcome.OK,
                a.fire("office", "shell").await(WAIT).outcome());
    }

    @Test
    public void theFallbackChainTravelsInTheCause() {
        assertEquals(List.of("a"), ClusterFirings.chainOf(ClusterFirings.fallbackCause("a", List.of())));
        assertEquals(List.of("a", "b", "c"), ClusterFirings.chainOf(ClusterFirings.fallbackCause("c", List.of("a", "b"))));
        assertEquals(List.of(), ClusterFirings.chainOf("shell"));
    }
}

package io.uplink.core.internal;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.CoreMatchers.containsString;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThat;
import static org.junit.Assert.assertTrue;

import io.uplink.api.ConnectionState;
import io.uplink.api.ConnectionStatus;
import io.uplink.api.Events;
import io.uplink.api.Firing;
import io.uplink.api.FiringResult;
import io.uplink.api.MethodInfo;
import io.uplink.api.NoSuchConnectionException;
import io.uplink.api.Outcome;
import io.uplink.api.Phase;
import io.uplink.api.PhaseResult;
import io.uplink.api.mail.CollectReport;
import io.uplink.api.mail.MailCollector;
import io.uplink.api.mail.MailSender;
import io.uplink.api.mail.SendReport;
import io.uplink.api.mail.TaskContext;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;

import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

public class EngineTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private Engine engine;
    private TestMethod method;
    private final List<String> topics = Collections.synchronizedList(new ArrayList<>());
    private final List<Map<String, Object>> eventProps = Collections.synchronizedList(new ArrayList<>());

    @Before
    public void setUp() {
        engine = new Engine(Clock.systemUTC());
        engine.setEvents((topic, props) -> {
            topics.add(topic);
            eventProps.add(new HashMap<>(props));
        });
        method = new TestMethod();
        engine.methodAdded("test", method, new MethodInfo("test", "test.bundle", "1.0.0", "test method"));
    }

    @After
    public void tearDown() {
        method.gate.countDown();
        engine.close(5_000);
    }

    static Map<String, Object> cfg(String id, String... kv) {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("service.pid", "io.uplink.connection~" + id);
        p.put("service.factoryPid", "io.uplink.connection");
        p.put("felix.fileinstall.filename", "file:/opt/uplink/etc/io.uplink.connection-" + id + ".cfg");
        p.put("method", "test");
        for (int i = 0; i < kv.length; i += 2) {
            if (kv[i + 1] == null) {
                p.remove(kv[i]);
            } else {
                p.put(kv[i], kv[i + 1]);
            }
        }
        return p;
    }

    private void configure(String id, String... kv) {
        engine.configure("io.uplink.connection~" + id, cfg(id, kv));
    }

    private ConnectionStatus status(String id) {
        return engine.status(id).orElseThrow();
    }

    @Test
    public void idFromFileNameAndStatusShowsSettingsMasked() {
        configure("office", "name", "Office router", "sender", "smarthost", "test.password", "secret");
        ConnectionStatus s = status("office");
        assertEquals("Office router", s.name());
        assertEquals(ConnectionState.IDLE, s.state());
        assertEquals("io.uplink.connection-office.cfg", s.file());
        assertEquals("********", s.settings().get("test.password"));
        assertFalse(s.toString().contains("secret"));
        assertEquals(List.of("sender 'smarthost' is not configured (no Mail Sender is installed)"), s.problems());
    }

    @Test
    public void idDoesNotDependOnTheGeneratedPid() {
        Map<String, Object> p = cfg("shop");
        p.put("service.pid", "io.uplink.connection.3f2a9c1e-0000-4000-8000-000000000000");
        engine.configure("io.uplink.connection.3f2a9c1e-0000-4000-8000-000000000000", p);
        assertTrue(engine.status("shop").isPresent());
    }

    @Test
    public void badValuesPutOnlyThatConnectionInErrorNamingFileAndKey() throws Exception {
        configure("good");
        configure("negative", "order", "-1");
        configure("nomethod", "method", null);
        configure("timeout", "commands.timeout", "soon");
        configure("self", "fallback", "self");
        configure("methodkey", "test.number", "many");
        assertError("negative", "io.uplink.connection-negative.cfg", "'order'");
        assertError("nomethod", "io.uplink.connection-nomethod.cfg", "'method'");
        assertError("timeout", "io.uplink.connection-timeout.cfg", "'commands.timeout'");
        assertError("self", "io.uplink.connection-self.cfg", "'fallback'");
        assertError("methodkey", "io.uplink.connection-methodkey.cfg", "'test.number'");
        assertEquals(Outcome.OK, engine.fire("good").await(WAIT).outcome());
        FiringResult bad = engine.fire("negative").await(WAIT);
        assertEquals(Outcome.FAILED, bad.outcome());
        assertThat(bad.summary(), containsString("'order'"));
        configure("negative", "order", "3");
        assertEquals(ConnectionState.IDLE, status("negative").state());
    }

    @Test
    public void manyBadFilesArrivingTogetherEachGoToErrorNamingTheKey() throws Exception {
        engine.setLimits(new Engine.Limits(100, 100, 2));
        for (int i = 0; i < 20; i++) {
            configure("huge" + i, "commands.timeout", "99999999999999999999999");
            configure("yes" + i, "default", "yes");
            configure("blank" + i, "commands.timeout", "9999999999999999");
        }
        configure("good");
        for (int i = 0; i < 20; i++) {
            assertError("huge" + i, "io.uplink.connection-huge" + i + ".cfg", "key 'commands.timeout'");
            assertError("yes" + i, "io.uplink.connection-yes" + i + ".cfg", "key 'default': must be true or false, got 'yes'");
            assertError("blank" + i, "io.uplink.connection-blank" + i + ".cfg", "key 'commands.timeout'");
        }
        assertEquals(Outcome.OK, engine.fire("good").await(WAIT).outcome());
    }

    @Test
    public void aMisspeltKeyIsAWarningWithTheNearestKeyAndTheConnectionKeepsWorking() throws Exception {
        configure("office", "sendr", "demo", "test.anything", "x");
        ConnectionStatus s = status("office");
        assertEquals(ConnectionState.IDLE, s.state());
        assertEquals(List.of("unknown key 'sendr' in io.uplink.connection-office.cfg; did you mean 'sender'?"), s.problems());
        assertEquals(Outcome.OK, engine.fire("office").await(WAIT).outcome());

        configure("net", "method", "network", "network.prob", "a:1", "dialup.port", "/dev/ttyS0");
        assertEquals(List.of("unknown key 'network.prob' in io.uplink.connection-net.cfg; did you mean 'network.probe'?"),
                status("net").problems());
    }

    @Test
    public void anUnknownMethodGetsTheNearestName() {
        configure("office", "method", "netwrok");
        ConnectionStatus s = status("office");
        assertEquals(ConnectionState.WAITING, s.state());
        assertEquals("method 'netwrok' is not installed (io.uplink.connection-office.cfg, key 'method'); did you mean 'network'?",
                s.reason());
        configure("t", "method", "tset");
        assertThat(status("t").reason(), containsString("did you mean 'test'?"));
        configure("isdn", "method", "isdn");
        assertEquals("method 'isdn' is not installed", status("isdn").reason());
    }

    @Test
    public void aSenderOrCollectorInErrorShowsOnTheConnection() {
        MailSender broken = new MailSender() {
            @Override
            public String id() {
                return "smarthost";
            }

            @Override
            public SendReport send(TaskContext ctx) {
                return new SendReport(0, 0, 0, List.of("broken"));
            }

            @Override
            public java.util.Optional<String> problem() {
                return java.util.Optional.of("sender 'smarthost' (io.uplink.sender-smarthost.cfg), key 'security': must be one of ...");
            }
        };
        MailCollector alice = new TestCollector("alice", List.of("office"),
                "collector 'alice' (io.uplink.collector-alice.cfg), key 'protocol': must be one of pop3, imap, got 'pop'");
        engine.setMail(new MailTasks() {
            @Override
            public MailSender sender(String id) {
                return "smarthost".equals(id) ? broken : null;
            }

            @Override
            public boolean anySender() {
                return true;
            }

            @Override
            public List<MailCollector> collectors(String connectionId) {
                return "office".equals(connectionId) ? List.of(alice) : List.of();
            }
        });
        configure("office", "sender", "smarthost");
        assertEquals(List.of(
                "sender 'smarthost' is in ERROR: sender 'smarthost' (io.uplink.sender-smarthost.cfg), key 'security': must be one of ...",
                "collector 'alice' is in ERROR: collector 'alice' (io.uplink.collector-alice.cfg), key 'protocol': must be one of pop3, imap, got 'pop'"),
                status("office").problems());
    }

    private void assertError(String id, String file, String key) {
        ConnectionStatus s = status(id);
        assertEquals(id + ": " + s.reason(), ConnectionState.ERROR, s.state());
        assertThat(s.reason(), containsString("connection '" + id + "'"));
        assertThat(s.reason(), containsString(file));
        assertThat(s.reason(), containsString(key));
    }

    @Test
    public void missingMethodWaitsAndBecomesReadyWhenInstalled() throws Exception {
        configure("modem", "method", "dialup");
        assertEquals(ConnectionState.WAITING, status("modem").state());
        assertEquals("method 'dialup' is not installed", status("modem").reason());
        FiringResult r = engine.fire("modem").await(WAIT);
        assertEquals(Outcome.FAILED, r.outcome());
        assertThat(r.summary(), containsString("method 'dialup' is not installed"));

        TestMethod dialup = new TestMethod();
        engine.methodAdded("dialup", dialup, new MethodInfo("dialup", "b", "1", "d"));
        assertEquals(ConnectionState.IDLE, status("modem").state());
        assertEquals(Outcome.OK, engine.fire("modem").await(WAIT).outcome());
        engine.methodRemoved("dialup", dialup);
        assertEquals(ConnectionState.WAITING, status("modem").state());
    }

    @Test
    public void firesWhileRunningCoalesceIntoOneFollowUp() throws Exception {
        configure("office", "test.block", "true");
        method.gate = new CountDownLatch(1);
        Firing first = engine.fire("office");
        assertTrue(method.entered.await(10, TimeUnit.SECONDS));
        List<Firing> more = Collections.synchronizedList(new ArrayList<>());
        CyclicBarrier barrier = new CyclicBarrier(50);
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            Thread t = new Thread(() -> {
                try {
                    barrier.await();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
                more.add(engine.fire("office", "test"));
            });
            t.start();
            threads.add(t);
        }
        for (Thread t : threads) {
            t.join();
        }
        assertEquals(1, more.stream().map(Firing::id).distinct().count());
        assertFalse(more.get(0).id().equals(first.id()));
        method.gate.countDown();
        assertEquals(Outcome.OK, first.await(WAIT).outcome());
        for (Firing f : more) {
            assertEquals(Outcome.OK, f.await(WAIT).outcome());
        }
        assertEquals(2, method.connects.get());
        assertEquals(2, engine.history("office", 10).size());
    }

    @Test
    public void defaultsFireOneAfterTheOtherByOrderThenId() throws Exception {
        configure("c", "default", "true", "order", "1");
        configure("b", "default", "true", "order", "1");
        configure("a", "default", "true", "order", "2");
        configure("notdefault");
        List<Firing> handles = engine.fireDefaults("test");
        assertEquals(List.of("b", "c", "a"), handles.stream().map(Firing::connectionId).toList());
        for (Firing f : handles) {
            assertEquals(Outcome.OK, f.await(WAIT).outcome());
        }
        assertEquals(List.of("b", "c", "a"), method.order);
        assertEquals(1, method.maxOnline.get());
        FiringResult b = handles.get(0).await(WAIT);
        FiringResult c = handles.get(1).await(WAIT);
        assertFalse(c.started().isBefore(b.ended()));
        assertEquals(handles.get(0).id(), b.firingId());
    }

    @Test
    public void fallbackFiresAnotherConnectionWhenTheMethodCannotConnect() throws Exception {
        configure("office", "test.fail", "router is dead", "fallback", "modem");
        configure("modem");
        FiringResult r = engine.fire("office").await(WAIT);
        assertEquals(Outcome.FAILED, r.outcome());
        assertThat(r.summary(), containsString("router is dead"));
        assertThat(r.summary(), containsString("fell back to 'modem'"));
        assertNotNull(r.fallback());
        assertEquals("modem", r.fallback().connectionId());
        assertEquals("fallback:office", r.fallback().cause());
        assertEquals(Outcome.OK, r.fallback().outcome());
    }

    @Test
    public void fallbackChainsAreFollowedAndLoopsRefused() throws Exception {
        configure("a", "test.fail", "down", "fallback", "b");
        configure("b", "test.fail", "down", "fallback", "c");
        configure("c", "test.fail", "down", "fallback", "a");
        FiringResult r = engine.fire("a").await(WAIT);
        assertEquals("b", r.fallback().connectionId());
        assertEquals("c", r.fallback().fallback().connectionId());
        FiringResult last = r.fallback().fallback();
        assertNull(last.fallback());
        assertThat(last.summary(), containsString("fallback loop refused: a -> b -> c -> a"));
        assertEquals(3, method.connects.get());
    }

    @Test
    public void fallbackToAnUnknownConnectionIsReported() throws Exception {
        configure("a", "test.fail", "down", "fallback", "nowhere");
        assertEquals(List.of("fallback 'nowhere' is not configured"), status("a").problems());
        FiringResult r = engine.fire("a").await(WAIT);
        assertThat(r.summary(), containsString("fallback 'nowhere' is not configured"));
    }

    @Test
    public void limitRejectsTheConnectionsOverItUntilAnotherIsRemoved() throws Exception {
        engine.setLimits(new Engine.Limits(2, 100, 2));
        configure("one");
        configure("two");
        configure("three");
        assertEquals(ConnectionState.REJECTED, status("three").state());
        assertThat(status("three").reason(), containsString("limit of 2"));
        assertEquals(Outcome.FAILED, engine.fire("three").await(WAIT).outcome());
        engine.remove("io.uplink.connection~one");
        assertFalse(engine.status("one").isPresent());
        assertEquals(ConnectionState.IDLE, status("three").state());
    }

    private int checks(String id) {
        java.util.concurrent.atomic.AtomicInteger n = method.validations.get(id);
        return n == null ? 0 : n.get();
    }

    private int totalChecks() {
        return method.validations.values().stream().mapToInt(java.util.concurrent.atomic.AtomicInteger::get).sum();
    }

    /** The connection ids of the STATE events posted since the last {@code topics.clear()}. */
    private java.util.Set<Object> stateEventIds() {
        java.util.Set<Object> ids = new java.util.TreeSet<>();
        synchronized (topics) {
            for (int i = 0; i < topics.size(); i++) {
                if (Events.STATE.equals(topics.get(i))) {
                    ids.add(eventProps.get(i).get(Events.CONNECTION_ID));
                }
            }
        }
        return ids;
    }

    @Test
    public void aChangeToOneConnectionChecksAndAnnouncesOnlyThatOne() throws Exception {
        int n = 500;
        engine.setLimits(new Engine.Limits(n + 10, 100, 2));
        for (int i = 0; i < n; i++) {
            configure("c" + i);
        }
        // loading n connections checks each once (it used to check every one again at each arrival)
        assertEquals(n, totalChecks());
        assertEquals(1, checks("c0"));
        configure("busy", "test.block", "true");
        method.gate = new CountDownLatch(1);
        Firing running = engine.fire("busy");
        assertTrue(method.entered.await(10, TimeUnit.SECONDS));
        synchronized (topics) {
            topics.clear();
            eventProps.clear();
        }

        configure("c7", "name", "Renamed", "test.number", "many");
        assertEquals(ConnectionState.ERROR, status("c7").state());
        configure("c7", "name", "Renamed");
        assertEquals(ConnectionState.IDLE, status("c7").state());
        assertEquals("Renamed", status("c7").name());
        assertEquals("only c7 was checked again, twice", n + 1 + 2, totalChecks());
        assertEquals(3, checks("c7"));
        assertEquals(java.util.Set.of("c7"), stateEventIds());

        configure("newcomer");
        engine.remove("io.uplink.connection~c9");
        assertEquals("the newcomer checked, nobody else", n + 4, totalChecks());
        assertEquals(java.util.Set.of("c7", "c9"), stateEventIds());

        TestMethod dialup = new TestMethod();
        engine.methodAdded("dialup", dialup, new MethodInfo("dialup", "b", "1", "d"));
        engine.methodRemoved("dialup", dialup);
        assertEquals("another method coming and going checks none of the test connections", n + 4, totalChecks());
        assertEquals(java.util.Set.of("c7", "c9"), stateEventIds());

        assertEquals("the firing connection was not disturbed", ConnectionState.CONNECTING, status("busy").state());
        method.gate.countDown();
        assertEquals(Outcome.OK, running.await(WAIT).outcome());
        assertEquals(1, checks("busy"));
    }

    @Test
    public void referencesResolveWhicheverArrivesFirst() {
        // a fallback named before it exists, then arriving, then going
        configure("office", "fallback", "modem");
        assertEquals(List.of("fallback 'modem' is not configured"), status("office").problems());
        configure("modem");
        assertEquals(List.of(), status("office").problems());
        engine.remove("io.uplink.connection~modem");
        assertEquals(List.of("fallback 'modem' is not configured"), status("office").problems());

        // a sender and a collector that arrive after the connection naming them
        Map<String, MailSender> senders = new java.util.concurrent.ConcurrentHashMap<>();
        List<MailCollector> collectors = new java.util.concurrent.CopyOnWriteArrayList<>();
        engine.setMail(new MailTasks() {
            @Override
            public MailSender sender(String id) {
                return senders.get(id);
            }

            @Override
            public boolean anySender() {
                return true;
            }

            @Override
            public List<MailCollector> collectors(String connectionId) {
                return collectors.stream().filter(c -> c.connections().contains(connectionId)).toList();
            }
        });
        configure("shop", "sender", "smarthost");
        assertEquals(List.of("sender 'smarthost' is not configured"), status("shop").problems());
        senders.put("smarthost", new MailSender() {
            @Override
            public String id() {
                return "smarthost";
            }

            @Override
            public SendReport send(TaskContext ctx) {
                return new SendReport(0, 0, 0, List.of());
            }
        });
        assertEquals(List.of(), status("shop").problems());
        assertEquals(List.of(), status("shop").collectors());
        collectors.add(new TestCollector("alice", List.of("shop"),
                "collector 'alice' (io.uplink.collector-alice.cfg), key 'port': must be 1-65535"));
        assertEquals(List.of("alice"), status("shop").collectors());
        assertEquals(List.of("collector 'alice' is in ERROR: collector 'alice' (io.uplink.collector-alice.cfg), key 'port': must be 1-65535"),
                status("shop").problems());
        assertEquals("the sender and collector arriving checked nothing again", 1, checks("shop"));

        // a method arriving after its connections: the hint follows the installed names, then it is checked once
        configure("line", "method", "isdnx");
        assertEquals("method 'isdnx' is not installed", status("line").reason());
        TestMethod isdn = new TestMethod();
        engine.methodAdded("isdn", isdn, new MethodInfo("isdn", "b", "1", "d"));
        assertEquals("method 'isdnx' is not installed (io.uplink.connection-line.cfg, key 'method'); did you mean 'isdn'?",
                status("line").reason());
        TestMethod isdnx = new TestMethod();
        engine.methodAdded("isdnx", isdnx, new MethodInfo("isdnx", "b", "1", "d"));
        assertEquals(ConnectionState.IDLE, status("line").state());
        assertEquals(1, isdnx.validations.get("line").get());
        engine.methodRemoved("isdnx", isdnx);
        assertEquals(ConnectionState.WAITING, status("line").state());
        engine.methodAdded("isdnx", isdnx, new MethodInfo("isdnx", "b", "1", "d"));
        assertEquals(ConnectionState.IDLE, status("line").state());
        assertEquals(0, isdn.validations.size());
        assertEquals("office was never checked again", 1, checks("office"));
        assertEquals("shop was never checked again", 1, checks("shop"));
    }

    @Test
    public void twoFilesWithOneIdTheFirstServesAndTheOtherTakesOverOrResolves() {
        String twinReason = "connection 'office' (io.uplink.connection-office.cfg): the id is already used by "
                + "io.uplink.connection-branch.cfg; remove one of them";
        engine.configure("io.uplink.connection~branch", cfg("branch", "id", "office"));
        configure("office");
        assertEquals("the first to arrive serves", "io.uplink.connection-branch.cfg", status("office").file());
        assertEquals(ConnectionState.IDLE, status("office").state());
        assertEquals(twinReason, fileStatus("io.uplink.connection-office.cfg").reason());
        // the first changes its id: the second is no longer a twin
        engine.configure("io.uplink.connection~branch", cfg("branch"));
        assertEquals(ConnectionState.IDLE, status("branch").state());
        assertEquals(ConnectionState.IDLE, status("office").state());
        assertEquals("io.uplink.connection-office.cfg", status("office").file());
        // and back: the first to arrive serves again
        engine.configure("io.uplink.connection~branch", cfg("branch", "id", "office"));
        assertTrue(engine.status("branch").isEmpty());
        assertEquals("io.uplink.connection-branch.cfg", status("office").file());
        assertEquals(ConnectionState.ERROR, fileStatus("io.uplink.connection-office.cfg").state());
        engine.remove("io.uplink.connection~branch");
        assertEquals("the twin takes over when the first goes", "io.uplink.connection-office.cfg", status("office").file());
        assertEquals(ConnectionState.IDLE, status("office").state());
        List<String> errors = new ArrayList<>();
        synchronized (topics) {
            for (int i = 0; i < topics.size(); i++) {
                if (Events.STATE.equals(topics.get(i)) && "ERROR".equals(eventProps.get(i).get(Events.STATE_NAME))) {
                    errors.add(String.valueOf(eventProps.get(i).get(Events.MESSAGE)));
                }
            }
        }
        assertEquals(List.of(twinReason, twinReason), errors);
    }

    private ConnectionStatus fileStatus(String file) {
        return engine.list().stream().filter(s -> s.file().equals(file)).findFirst().orElseThrow();
    }

    @Test
    public void aConnectionDeletedAndWrittenAgainWhileFiringStaysWithTheNewSettings() throws Exception {
        configure("office", "name", "Old", "test.block", "true");
        method.gate = new CountDownLatch(1);
        Firing f = engine.fire("office");
        assertTrue(method.entered.await(10, TimeUnit.SECONDS));
        engine.remove("io.uplink.connection~office");
        configure("office", "name", "New");
        method.gate.countDown();
        f.await(WAIT);
        await().atMost(5, TimeUnit.SECONDS).until(() -> engine.status("office").map(s -> s.name().equals("New")).orElse(false));
        assertEquals(ConnectionState.IDLE, status("office").state());
        assertEquals(Outcome.OK, engine.fire("office").await(WAIT).outcome());
    }

    @Test
    public void connectionsSharingAResourceNeverOverlap() throws Exception {
        configure("modem1", "test.resource", "serial:/dev/ttyS0", "test.block", "true");
        configure("modem2", "test.resource", "serial:/dev/ttyS0", "test.block", "true");
        method.gate = new CountDownLatch(1);
        Firing f1 = engine.fire("modem1");
        assertTrue(method.entered.await(10, TimeUnit.SECONDS));
        Firing f2 = engine.fire("modem2");
        await().atMost(5, TimeUnit.SECONDS).until(() -> status("modem2").state() == ConnectionState.QUEUED
                && status("modem2").reason().contains("serial:/dev/ttyS0"));
        method.gate.countDown();
        f1.await(WAIT);
        f2.await(WAIT);
        assertEquals(0, method.resourceOverlap.get());
        assertEquals(2, method.connects.get());
    }

    @Test
    public void postConnectCommandSeesTheConnectionAndItsFailureFailsTheFiring() throws Exception {
        configure("ok", "name", "Good one", "commands.postConnect", "test \"$CONNECTION\" = ok && test \"$CONNECTION_NAME\" = 'Good one'");
        assertEquals(Outcome.OK, engine.fire("ok").await(WAIT).outcome());

        configure("bad", "commands.postConnect", "echo broken >&2; exit 3");
        FiringResult r = engine.fire("bad").await(WAIT);
        assertEquals(Outcome.FAILED, r.outcome());
        assertThat(r.summary(), containsString("exited 3"));
        assertThat(r.summary(), containsString("broken"));
        assertTrue(r.phases().stream().anyMatch(p -> p.phase() == Phase.DISCONNECT && p.ok()));
        assertEquals(0, method.online.get());

        configure("ignored", "commands.postConnect", "exit 3", "commands.ignoreExitCode", "true");
        assertEquals(Outcome.OK, engine.fire("ignored").await(WAIT).outcome());
    }

    @Test
    public void commandsAreStoppedAtTheirTimeout() throws Exception {
        configure("slow", "commands.preDisconnect", "sleep 30", "commands.timeout", "300ms");
        long t0 = System.nanoTime();
        FiringResult r = engine.fire("slow").await(WAIT);
        assertTrue("the command was stopped, not waited for", System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(20));
        assertEquals(Outcome.FAILED, r.outcome());
        assertThat(r.summary(), containsString("did not end within 300 ms"));
    }

    @Test
    public void aChangeWhileFiringAppliesWhenTheFiringEnds() throws Exception {
        configure("office", "name", "Old", "test.block", "true");
        method.gate = new CountDownLatch(1);
        Firing f = engine.fire("office");
        assertTrue(method.entered.await(10, TimeUnit.SECONDS));
        configure("office", "name", "New", "test.block", "true");
        assertEquals("Old", status("office").name());
        method.gate.countDown();
        assertEquals("Old", f.await(WAIT).connectionName());
        await().atMost(5, TimeUnit.SECONDS).until(() -> "New".equals(status("office").name()));
    }

    @Test
    public void aConnectionRemovedWhileFiringHangsUpAndGoes() throws Exception {
        configure("office", "test.block", "true");
        method.gate = new CountDownLatch(1);
        Firing f = engine.fire("office");
        assertTrue(method.entered.await(10, TimeUnit.SECONDS));
        engine.remove("io.uplink.connection~office");
        assertTrue("still listed while it finishes", engine.status("office").isPresent());
        method.gate.countDown();
        FiringResult r = f.await(WAIT);
        assertTrue("the connect in progress was finished, not abandoned",
                r.phases().get(0).phase() == Phase.CONNECT && r.phases().get(0).ok());
        assertEquals(Phase.DISCONNECT, r.phases().get(r.phases().size() - 1).phase());
        assertThat(r.summary(), containsString("stopped: connection removed"));
        await().atMost(5, TimeUnit.SECONDS).until(() -> engine.status("office").isEmpty());
        assertEquals(0, method.online.get());
        assertTrue(method.hungUp.contains("office"));
    }

    @Test
    public void hangupStopsAConnectInProgress() throws Exception {
        configure("modem", "test.block", "true");
        method.gate = new CountDownLatch(1);
        Firing f = engine.fire("modem");
        assertTrue(method.entered.await(10, TimeUnit.SECONDS));
        assertTrue(engine.hangup("modem"));
        FiringResult r = f.await(WAIT);
        assertEquals(Outcome.FAILED, r.outcome());
        assertThat(r.summary(), containsString("hung up by request"));
        assertEquals(0, method.online.get());
        // not firing: the method is asked to drop a line it keeps up while idle
        assertTrue(engine.hangup("modem"));
        assertTrue(method.hungUp.contains("modem"));
    }

    @Test
    public void whatTheMethodReportedWhileConnectingStaysInTheRecord() throws Exception {
        configure("modem", "test.steps", "attempt-1/3:BUSY, attempt-2/3:CONNECT");
        FiringResult r = engine.fire("modem").await(WAIT);
        assertEquals(Outcome.OK, r.outcome());
        assertEquals("test link (attempt-1/3:BUSY; attempt-2/3:CONNECT)", r.phases().get(0).message());
    }

    @Test(expected = NoSuchConnectionException.class)
    public void firingAnUnknownConnectionSaysSo() {
        engine.fire("nosuch");
    }

    @Test
    public void senderAndCollectorsRunAndTheirCountsAndErrorsShape() throws Exception {
        List<String> ran = Collections.synchronizedList(new ArrayList<>());
        MailSender sender = new MailSender() {
            @Override
            public String id() {
                return "smarthost";
            }

            @Override
            public SendReport send(TaskContext ctx) {
                ran.add("send:" + ctx.connectionId());
                ctx.progress("sending", 1, 2);
                return new SendReport(2, 1, 0, List.of());
            }
        };
        MailCollector alice = collector("alice", 1, new CollectReport("alice", 5, 1, List.of()), ran);
        MailCollector bob = collector("bob", 2, new CollectReport("bob", 0, 0, List.of("bob: login refused")), ran);
        engine.setMail(new MailTasks() {
            @Override
            public MailSender sender(String id) {
                return "smarthost".equals(id) ? sender : null;
            }

            @Override
            public boolean anySender() {
                return true;
            }

            @Override
            public List<MailCollector> collectors(String connectionId) {
                return "office".equals(connectionId) ? List.of(alice, bob) : List.of();
            }
        });
        configure("office", "sender", "smarthost");
        ConnectionStatus st = status("office");
        assertEquals(List.of("alice", "bob"), st.collectors());
        assertTrue(st.problems().isEmpty());
        FiringResult r = engine.fire("office").await(WAIT);
        assertEquals(Outcome.PARTIAL, r.outcome());
        assertEquals(2, r.counts().sent());
        assertEquals(1, r.counts().deferred());
        assertEquals(5, r.counts().collected());
        assertEquals(1, r.counts().skipped());
        assertEquals("send:office", ran.get(0));
        assertThat(r.summary(), containsString("login refused"));
        assertEquals(List.of(Phase.CONNECT, Phase.SEND, Phase.COLLECT, Phase.DISCONNECT),
                r.phases().stream().map(PhaseResult::phase).toList());
        assertTrue(topics.contains(Events.SENT));
        assertTrue(topics.contains(Events.COLLECTED));
        assertTrue(topics.contains(Events.FAILED));
        Map<String, Object> sent = eventProps.get(topics.indexOf(Events.SENT));
        assertEquals(2, sent.get(Events.SENT_COUNT));
        assertEquals("office", sent.get(Events.CONNECTION_ID));

        configure("other", "sender", "nosuch");
        FiringResult r2 = engine.fire("other").await(WAIT);
        assertEquals(Outcome.FAILED, r2.outcome());
        assertThat(r2.summary(), containsString("sender 'nosuch' is not configured"));
    }

    @Test
    public void theFiringTimeoutStopsTheFiringAsAHangUpWouldAndSaysWhich() throws Exception {
        List<String> ran = Collections.synchronizedList(new ArrayList<>());
        List<Duration> timeLeft = Collections.synchronizedList(new ArrayList<>());
        MailSender slow = new MailSender() {
            @Override
            public String id() {
                return "smarthost";
            }

            @Override
            public SendReport send(TaskContext ctx) {
                timeLeft.add(ctx.timeLeft().orElseThrow());
                // a sender busy with a slow server: it stops at the first check after the deadline
                await().atMost(20, TimeUnit.SECONDS).until(() -> !ctx.linkUp());
                timeLeft.add(ctx.timeLeft().orElseThrow());
                return new SendReport(1, 2, 0, List.of());
            }
        };
        MailCollector alice = collector("alice", 1, new CollectReport("alice", 5, 0, List.of()), ran);
        engine.setMail(new MailTasks() {
            @Override
            public MailSender sender(String id) {
                return slow;
            }

            @Override
            public boolean anySender() {
                return true;
            }

            @Override
            public List<MailCollector> collectors(String connectionId) {
                return List.of(alice);
            }
        });
        configure("office", "sender", "smarthost", "firing.timeout", "1s");
        FiringResult r = engine.fire("office").await(WAIT);
        assertTrue(timeLeft.toString(), timeLeft.get(0).compareTo(Duration.ofSeconds(1)) <= 0
                && timeLeft.get(0).compareTo(Duration.ZERO) > 0);
        assertEquals("past the deadline the tasks are told no time is left", Duration.ZERO, timeLeft.get(1));
        assertEquals("the collectors do not start after the deadline", List.of(), ran);
        assertEquals(Outcome.PARTIAL, r.outcome());
        assertEquals(1, r.counts().sent());
        assertTrue(r.errors().toString(),
                r.errors().contains("stopped: the firing ran past its time limit of 1s (key 'firing.timeout')"));
        assertEquals(Phase.DISCONNECT, r.phases().get(r.phases().size() - 1).phase());

        configure("bad", "firing.timeout", "0s");
        assertError("bad", "io.uplink.connection-bad.cfg", "'firing.timeout'");
    }

    @Test
    public void collectorSessionsAcrossAllFiringsShareOnePool() throws Exception {
        engine.setLimits(new Engine.Limits(10, 100, 3));
        java.util.concurrent.atomic.AtomicInteger open = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicInteger most = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.CountDownLatch crowd = new java.util.concurrent.CountDownLatch(3);
        Map<String, List<MailCollector>> byConnection = new HashMap<>();
        for (String c : List.of("c1", "c2", "c3", "c4")) {
            List<MailCollector> list = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                String cid = c + "-k" + i;
                list.add(new TestCollector(cid, c) {
                    @Override
                    public CollectReport collect(TaskContext ctx) throws InterruptedException {
                        most.accumulateAndGet(open.incrementAndGet(), Math::max);
                        crowd.countDown();
                        // hold the session until the pool is full once, so an unbounded pool would show
                        crowd.await(5, TimeUnit.SECONDS);
                        open.decrementAndGet();
                        return new CollectReport(cid, 1, 0, List.of());
                    }
                });
            }
            byConnection.put(c, list);
        }
        engine.setMail(new MailTasks() {
            @Override
            public MailSender sender(String id) {
                return null;
            }

            @Override
            public boolean anySender() {
                return false;
            }

            @Override
            public List<MailCollector> collectors(String connectionId) {
                return byConnection.getOrDefault(connectionId, List.of());
            }
        });
        List<io.uplink.api.Firing> firings = new ArrayList<>();
        for (String c : List.of("c1", "c2", "c3", "c4")) {
            configure(c);
            firings.add(engine.fire(c));
        }
        for (io.uplink.api.Firing f : firings) {
            FiringResult r = f.await(WAIT);
            assertEquals(r.summary(), Outcome.OK, r.outcome());
            assertEquals(4, r.counts().collected());
        }
        assertEquals("4 firings of 4 collectors each, one pool of 3", 3, most.get());
        assertEquals(0, engine.collectorSlots().inUse());
    }

    private static MailCollector collector(String id, int priority, CollectReport report, List<String> ran) {
        return new MailCollector() {
            @Override
            public String id() {
                return id;
            }

            @Override
            public List<String> connections() {
                return List.of("office");
            }

            @Override
            public int priority() {
                return priority;
            }

            @Override
            public boolean enabled() {
                return true;
            }

            @Override
            public CollectReport collect(TaskContext ctx) {
                ran.add("collect:" + id);
                return report;
            }
        };
    }

    @Test
    public void eventsTellEveryPhaseWithoutPasswords() throws Exception {
        configure("office", "test.password", "hunter2");
        engine.fire("office").await(WAIT);
        await().atMost(5, TimeUnit.SECONDS).until(() -> topics.contains(Events.DISCONNECTED));
        assertTrue(topics.containsAll(List.of(Events.FIRED, Events.CONNECTED, Events.PHASE_STARTED, Events.DISCONNECTED)));
        assertFalse(topics.contains(Events.FAILED));
        assertFalse(eventProps.toString().contains("hunter2"));
    }

    @Test
    public void historyIsKeptAcrossARestart() throws Exception {
        engine.setHistoryStore(new HistoryStore(tmp.getRoot().toPath()));
        configure("office", "name", "Office, \"main\"\trouter");
        FiringResult r = engine.fire("office").await(WAIT);
        engine.close(5_000);

        engine = new Engine(Clock.systemUTC());
        engine.methodAdded("test", method, new MethodInfo("test", "b", "1", "d"));
        engine.setHistoryStore(new HistoryStore(tmp.getRoot().toPath()));
        configure("office");
        List<FiringResult> h = engine.history("office", 10);
        assertEquals(1, h.size());
        FiringResult back = h.get(0);
        assertEquals(r.firingId(), back.firingId());
        assertEquals("Office, \"main\"\trouter", back.connectionName());
        assertEquals(r.summary(), back.summary());
        assertEquals(r.phases(), back.phases());
        assertEquals(r.outcome(), status("office").lastResult().outcome());
    }

    @Test
    public void historyIsBoundedPerConnection() throws Exception {
        engine.setLimits(new Engine.Limits(10, 3, 2));
        configure("office");
        for (int i = 0; i < 5; i++) {
            engine.fire("office").await(WAIT);
        }
        assertEquals(3, engine.history("office", 100).size());
        assertEquals(2, engine.history(null, 2).size());
    }
}

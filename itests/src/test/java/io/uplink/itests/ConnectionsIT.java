package io.uplink.itests;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.CoreMatchers.containsString;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotSame;
import static org.junit.Assert.assertThat;
import static org.junit.Assert.assertTrue;

import io.uplink.api.ConnectionService;
import io.uplink.api.ConnectionState;
import io.uplink.api.ConnectionStatus;
import io.uplink.api.Events;
import io.uplink.api.Firing;
import io.uplink.api.FiringResult;
import io.uplink.api.Outcome;
import io.uplink.api.Phase;
import io.uplink.api.PhaseResult;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Hashtable;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;

import javax.inject.Inject;
import javax.management.MBeanServer;
import javax.management.ObjectName;

import org.apache.karaf.jaas.boot.principal.RolePrincipal;
import org.junit.After;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.event.EventConstants;
import org.osgi.service.event.EventHandler;

/** Connections as drop-in cfg files in the real distribution: hot reload, errors, limit, methods, firing. */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class ConnectionsIT extends UplinkTestSupport {

    private static final Duration WAIT = Duration.ofSeconds(30);

    @Inject
    protected ConnectionService connections;

    private final List<Path> written = new ArrayList<>();

    @After
    public void removeWrittenFiles() throws Exception {
        for (Path p : written) {
            Files.deleteIfExists(p);
        }
        await().atMost(30, TimeUnit.SECONDS).until(() -> connections.list().stream()
                .noneMatch(s -> s.id().startsWith("it-")));
    }

    private Path cfg(String id, String body) throws Exception {
        Path p = writeCfg("io.uplink.connection-" + id + ".cfg", body);
        written.add(p);
        return p;
    }

    private Optional<ConnectionStatus> status(String id) {
        return connections.status(id);
    }

    @Test
    public void dropEditDelete() throws Exception {
        Path f = cfg("it-office", "name = Office router\nmethod = network\ndefault = true\n");
        await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> status("it-office").isPresent());
        ConnectionStatus s = status("it-office").get();
        assertEquals("Office router", s.name());
        assertEquals(ConnectionState.IDLE, s.state());
        assertTrue(s.isDefault());

        cfg("it-office", "name = Office router 2\nmethod = network\ndefault = false\n");
        await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> "Office router 2".equals(status("it-office").get().name()));
        assertFalse(status("it-office").get().isDefault());

        Files.delete(f);
        await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> status("it-office").isEmpty());
    }

    @Test
    public void aBadValueIsAnErrorNamingFileAndKeyWhileOthersFire() throws Exception {
        cfg("it-bad", "name = Broken\nmethod = network\norder = soon\n");
        cfg("it-good", "name = Fine\nmethod = network\n");
        await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> status("it-bad").isPresent() && status("it-good").isPresent());
        ConnectionStatus bad = status("it-bad").get();
        assertEquals(ConnectionState.ERROR, bad.state());
        assertThat(bad.reason(), containsString("io.uplink.connection-it-bad.cfg"));
        assertThat(bad.reason(), containsString("'order'"));
        assertEquals(Outcome.OK, connections.fire("it-good", "test").await(WAIT).outcome());
    }

    @Test
    public void theEleventhConnectionIsRejectedUntilAnotherGoes() throws Exception {
        List<Path> files = new ArrayList<>();
        for (int i = 1; i <= 11; i++) {
            files.add(cfg(String.format("it-n%02d", i), "method = network\n"));
            // arrival order decides who is over the limit; FileInstall reads files in its own order
            String id = String.format("it-n%02d", i);
            await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> status(id).isPresent());
        }
        long others = connections.list().stream().filter(s -> !s.id().startsWith("it-")).count();
        List<ConnectionStatus> rejected = connections.list().stream()
                .filter(s -> s.state() == ConnectionState.REJECTED).toList();
        assertEquals(Math.max(0, 11 + others - 10), rejected.size());
        ConnectionStatus r = rejected.get(rejected.size() - 1);
        assertThat(r.reason(), containsString("limit of 10"));
        assertEquals("it-n11", r.id());

        // the first one over the limit (in arrival order) takes the freed place
        String next = rejected.get(0).id();
        Files.delete(files.get(0));
        await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> status(next).get().state() == ConnectionState.IDLE);
        assertEquals(rejected.size() - 1, connections.list().stream()
                .filter(s -> s.state() == ConnectionState.REJECTED).count());
    }

    @Test
    public void aMethodBundleDeployedAtRuntimeMakesAWaitingConnectionReady() throws Exception {
        Bundle network = findBundleByName("io.uplink.method.network");
        Path jar = Path.of(System.getProperty("karaf.home"), "system", "io", "uplink", "uplink-method-network",
                network.getHeaders().get("Bundle-Version").replace(".SNAPSHOT", "-SNAPSHOT"),
                "uplink-method-network-" + network.getHeaders().get("Bundle-Version").replace(".SNAPSHOT", "-SNAPSHOT") + ".jar");
        assertTrue(jar + " exists", Files.isRegularFile(jar));
        cfg("it-net", "method = network\n");
        await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> status("it-net").isPresent());
        network.uninstall();
        try {
            await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> status("it-net").get().state() == ConnectionState.WAITING);
            assertEquals("method 'network' is not installed", status("it-net").get().reason());
            assertFalse(connections.methods().stream().anyMatch(m -> m.name().equals("network")));

            Path deployed = Path.of(System.getProperty("karaf.home"), "deploy", "uplink-method-network.jar");
            Files.copy(jar, deployed, StandardCopyOption.REPLACE_EXISTING);
            written.add(deployed);
            await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> status("it-net").get().state() == ConnectionState.IDLE);
            assertEquals(Outcome.OK, connections.fire("it-net", "test").await(WAIT).outcome());
        } finally {
            Path deployed = Path.of(System.getProperty("karaf.home"), "deploy", "uplink-method-network.jar");
            Files.deleteIfExists(deployed);
            await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> findBundleByName("io.uplink.method.network") == null);
            bundleContext.installBundle(network.getLocation()).start();
            await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> status("it-net").get().state() == ConnectionState.IDLE);
        }
    }

    @Test
    public void fiftyConcurrentFiresRunAtMostTwice() throws Exception {
        cfg("it-busy", "method = network\ncommands.postConnect = sleep 1\n");
        await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> status("it-busy").isPresent());
        int before = connections.history("it-busy", 1000).size();
        CyclicBarrier barrier = new CyclicBarrier(50);
        List<Firing> firings = Collections.synchronizedList(new ArrayList<>());
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            Thread t = new Thread(() -> {
                try {
                    barrier.await();
                    firings.add(connections.fire("it-busy", "test"));
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            t.start();
            threads.add(t);
        }
        for (Thread t : threads) {
            t.join();
        }
        assertEquals(50, firings.size());
        for (Firing f : firings) {
            assertEquals(Outcome.OK, f.await(WAIT).outcome());
        }
        int runs = connections.history("it-busy", 1000).size() - before;
        assertTrue("runs: " + runs, runs >= 1 && runs <= 2);
        assertTrue(firings.stream().map(Firing::id).distinct().count() <= 2);
    }

    @Test
    public void defaultsFireOneAfterTheOtherWithEvents() throws Exception {
        List<String> seen = Collections.synchronizedList(new ArrayList<>());
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(EventConstants.EVENT_TOPIC, Events.TOPIC_ALL);
        ServiceRegistration<EventHandler> reg = bundleContext.registerService(EventHandler.class,
                e -> seen.add(e.getTopic() + " " + e.getProperty(Events.CONNECTION_ID)), props);
        try {
            cfg("it-d1", "method = network\ndefault = true\norder = 2\ncommands.postConnect = sleep 0.3\n");
            cfg("it-d2", "method = network\ndefault = true\norder = 1\ncommands.postConnect = sleep 0.3\n");
            cfg("it-d3", "method = network\ndefault = true\norder = 1\ncommands.postConnect = sleep 0.3\n");
            await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> status("it-d1").isPresent() && status("it-d2").isPresent()
                    && status("it-d3").isPresent());
            List<Firing> handles = connections.fireDefaults("test");
            List<FiringResult> results = new ArrayList<>();
            for (Firing f : handles) {
                FiringResult r = f.await(WAIT);
                if (r.connectionId().startsWith("it-d")) {
                    results.add(r);
                }
            }
            assertEquals(List.of("it-d2", "it-d3", "it-d1"), results.stream().map(FiringResult::connectionId).toList());
            List<FiringResult> all = new ArrayList<>();
            for (Firing f : handles) {
                all.add(f.await(WAIT));
            }
            all.sort(Comparator.comparing(FiringResult::started));
            for (int i = 1; i < all.size(); i++) {
                PhaseResult lastOfPrevious = all.get(i - 1).phases().get(all.get(i - 1).phases().size() - 1);
                PhaseResult firstOfNext = all.get(i).phases().get(0);
                assertFalse("phases overlap: " + all.get(i - 1).connectionId() + " and " + all.get(i).connectionId(),
                        firstOfNext.started().isBefore(lastOfPrevious.ended()));
            }
            assertEquals(Phase.POST_CONNECT, results.get(0).phases().get(1).phase());
            await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> seen.contains(Events.DISCONNECTED + " it-d1"));
            // EventAdmin keeps the order of events posted by one thread: one firing's events come in order
            for (String id : List.of("it-d1", "it-d2", "it-d3")) {
                int fired = seen.indexOf(Events.FIRED + " " + id);
                int connected = seen.indexOf(Events.CONNECTED + " " + id);
                int disconnected = seen.indexOf(Events.DISCONNECTED + " " + id);
                assertTrue(id + " " + seen, fired >= 0 && fired < connected && connected < disconnected);
            }
        } finally {
            reg.unregister();
        }
    }

    @Test
    public void configEditWithAnAliasGivesThatId() throws Exception {
        RolePrincipal[] roles = {new RolePrincipal("admin"), new RolePrincipal("manager"), new RolePrincipal("viewer")};
        executeCommand("config:edit --factory --alias it-shop io.uplink.connection\nconfig:property-set method network\n"
                + "config:property-set name Shop\nconfig:update", roles);
        written.add(etc().resolve("io.uplink.connection-it-shop.cfg"));
        await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> status("it-shop").isPresent());
        assertEquals("Shop", status("it-shop").get().name());
        // a configuration made through ConfigAdmin is removed through it (FileInstall only mirrors it)
        for (org.osgi.service.cm.Configuration c : configurationAdmin.listConfigurations(
                "(service.factoryPid=io.uplink.connection)")) {
            if (String.valueOf(c.getProperties().get("felix.fileinstall.filename")).endsWith("it-shop.cfg")) {
                c.delete();
            }
        }
        await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> status("it-shop").isEmpty());
    }

    @Test
    public void jmxListsAndFires() throws Exception {
        cfg("it-jmx", "method = network\n");
        await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> status("it-jmx").isPresent());
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        ObjectName name = new ObjectName("io.uplink:type=connections");
        String[] list = (String[]) server.getAttribute(name, "Connections");
        assertTrue(List.of(list).stream().anyMatch(l -> l.startsWith("it-jmx |")));
        String firing = (String) server.invoke(name, "fire", new Object[] {"it-jmx"}, new String[] {String.class.getName()});
        await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> connections.history("it-jmx", 10).stream()
                .anyMatch(r -> r.firingId().equals(firing) && r.outcome() == Outcome.OK && "jmx".equals(r.cause())));
    }

    @Test
    public void historySurvivesInTheStateFolder() throws Exception {
        cfg("it-hist", "method = network\n");
        await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> status("it-hist").isPresent());
        FiringResult r = connections.fire("it-hist", "test").await(WAIT);
        Path log = Path.of(System.getProperty("karaf.data"), "uplink", "state", "history", "it-hist.log");
        await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> Files.isRegularFile(log)
                && Files.readString(log).contains(r.firingId()));

        // a restart of the core bundle drops everything it held in memory; only the state folder is left
        Bundle core = findBundleByName("io.uplink.core");
        ConnectionService before = connections;
        core.stop();
        assertEquals(Bundle.RESOLVED, core.getState());
        core.start();
        connections = getOsgiService(ConnectionService.class, WAIT.toMillis());
        assertNotSame("a new connection service after the restart", before, connections);
        await().atMost(WAIT.toSeconds(), TimeUnit.SECONDS).until(() -> status("it-hist").isPresent());

        List<FiringResult> history = connections.history("it-hist", 10);
        assertEquals(history.toString(), 1, history.size());
        FiringResult back = history.get(0);
        assertEquals(r.firingId(), back.firingId());
        assertEquals(r.outcome(), back.outcome());
        assertEquals("test", back.cause());
        assertEquals(r.started(), back.started());
        assertEquals("the last result in the status too", r.firingId(),
                connections.status("it-hist").get().lastResult().firingId());
    }
}

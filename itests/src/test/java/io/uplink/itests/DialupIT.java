package io.uplink.itests;

import static org.awaitility.Awaitility.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.maven;
import static org.ops4j.pax.exam.CoreOptions.mavenBundle;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.features;

import io.uplink.api.ConnectionService;
import io.uplink.api.ConnectionState;
import io.uplink.api.FiringResult;
import io.uplink.api.Outcome;
import io.uplink.api.Phase;
import io.uplink.api.PhaseResult;
import io.uplink.method.dialup.testing.PtyPair;
import io.uplink.method.dialup.testing.ScriptedModem;

import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.apache.karaf.features.FeaturesService;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;

/**
 * The uplink-dialup feature in the distribution: a dial-up connection fires against the scripted modem on a socat
 * pseudo-terminal (socat started here, the modem script running in this JVM inside the container), and a dead
 * network connection falls back to the modem.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class DialupIT extends UplinkTestSupport {

    private static final String VERSION = System.getProperty("uplink.project.version");

    private PtyPair pair;
    private ScriptedModem modem;
    private Path work;

    @Override
    protected Option[] extraOptions() {
        return new Option[] {
            features(maven().groupId("io.uplink").artifactId("uplink-features").type("xml").classifier("features")
                    .version(VERSION), "uplink-dialup"),
            // the scripted modem, shared with the unit tests of the dialup bundle
            mavenBundle(maven().groupId("io.uplink").artifactId("uplink-method-dialup").classifier("tests")
                    .version(VERSION))
        };
    }

    @Before
    public void modem() throws Exception {
        work = Files.createTempDirectory(Path.of(System.getProperty("karaf.data")), "dialup-it");
        Files.createDirectories(work.resolve("lock"));
        pair = PtyPair.open(work.resolve("pty"));
        modem = ScriptedModem.serve(pair.modem());
    }

    @After
    public void close() throws Exception {
        for (String id : List.of("modem", "office")) {
            Files.deleteIfExists(etc().resolve("io.uplink.connection-" + id + ".cfg"));
            await().atMost(30, TimeUnit.SECONDS).until(() -> connections().status(id).isEmpty());
        }
        modem.close();
        pair.close();
    }

    private String modemCfg(String number, String extra) {
        return "name = Backup modem\n"
                + "method = dialup\n"
                + "dialup.port = " + pair.line() + "\n"
                + "dialup.number = " + number + "\n"
                + "dialup.retries = 2\n"
                + "dialup.interval = 1s\n"
                + "dialup.guardTime = 200ms\n"
                + "dialup.lockDir = " + work.resolve("lock") + "\n"
                + extra;
    }

    private ConnectionService connections() {
        return getOsgiService(ConnectionService.class);
    }

    /** Until the connection is idle with the settings just written (not a previous test's). */
    private void awaitReady(String id, String key, String value) {
        await().atMost(30, TimeUnit.SECONDS).until(() -> connections().status(id)
                .map(s -> s.state() == ConnectionState.IDLE && value.equals(s.settings().get(key))).orElse(false));
    }

    private void awaitModem() {
        awaitReady("modem", "dialup.port", pair.line().toString());
    }

    private static PhaseResult phase(FiringResult r, Phase p) {
        return r.phases().stream().filter(x -> x.phase() == p).findFirst().orElse(null);
    }

    @Test
    public void featureShipsTheMethodAndJSerialCommOnce() throws Exception {
        FeaturesService fs = getOsgiService(FeaturesService.class);
        assertTrue(fs.isInstalled(fs.getFeature("uplink-dialup")));
        for (String name : new String[] {"io.uplink.method.dialup", "com.fazecast.jSerialComm"}) {
            Bundle b = findBundleByName(name);
            assertNotNull(name, b);
            assertEquals(name + " active", Bundle.ACTIVE, b.getState());
        }
        assertTrue(connections().methods().stream().anyMatch(m -> m.name().equals("dialup")));
        assertEquals("true", System.getProperty("jSerialComm.library.randomizeNativeName"));
        assertEquals("uplink", System.getProperty("fazecast.jSerialComm.appid"));
        assertEquals("true", configurationAdmin.getConfiguration("io.uplink.method.dialup", null).getProperties()
                .get("jSerialComm.library.randomizeNativeName"));
    }

    @Test
    public void dialupConnectionFiresRedialsAndHangsUp() throws Exception {
        String number = ScriptedModem.busyThenConnect(1);
        writeCfg("io.uplink.connection-modem.cfg", modemCfg(number, ""));
        awaitModem();
        FiringResult r = connections().fire("modem", "test").await(Duration.ofSeconds(60));
        PhaseResult connect = phase(r, Phase.CONNECT);
        assertNotNull(r.toString(), connect);
        assertTrue(r.toString(), connect.ok());
        assertEquals("CONNECT 33600 on " + pair.line(), connect.message());
        assertEquals(2, modem.dials(number));
        await().atMost(10, TimeUnit.SECONDS).until(() -> !modem.isOffHook());
        assertEquals("+++ escape on hang-up", 1, modem.escapes());
        assertEquals(1, modem.hangups());
        assertFalse("UUCP lock removed", Files.exists(work.resolve("lock/LCK..line")));
        assertEquals(r.firingId(), connections().history("modem", 1).get(0).firingId());
    }

    @Test
    public void busyLineFailsWithEveryAttemptInTheHistory() throws Exception {
        writeCfg("io.uplink.connection-modem.cfg", modemCfg(ScriptedModem.BUSY, ""));
        awaitModem();
        FiringResult r = connections().fire("modem", "test").await(Duration.ofSeconds(60));
        assertEquals(Outcome.FAILED, r.outcome());
        assertEquals(3, modem.dials(ScriptedModem.BUSY));
        assertTrue(r.errors().toString(), r.errors().stream().anyMatch(e -> e.contains("failed after 3 attempts: BUSY, BUSY, BUSY")));
        assertFalse(modem.isOffHook());
    }

    @Test
    public void deadNetworkFallsBackToTheModem() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        writeCfg("io.uplink.connection-modem.cfg", modemCfg(ScriptedModem.CONNECTS, ""));
        writeCfg("io.uplink.connection-office.cfg", "name = Office router\nmethod = network\n"
                + "network.probe = 127.0.0.1:" + closed + "\nnetwork.probe.timeout = 2s\nfallback = modem\n");
        awaitModem();
        awaitReady("office", "network.probe", "127.0.0.1:" + closed);
        FiringResult r = connections().fire("office", "test").await(Duration.ofSeconds(60));
        assertEquals(Outcome.FAILED, r.outcome());
        assertTrue(r.errors().toString(), r.errors().get(0).contains("network probe 127.0.0.1:" + closed + " failed"));
        await().atMost(60, TimeUnit.SECONDS).until(() -> !connections().history("modem", 1).isEmpty());
        FiringResult fb = connections().history("modem", 1).get(0);
        assertEquals("fallback:office", fb.cause());
        assertTrue(fb.toString(), phase(fb, Phase.CONNECT).ok());
        assertEquals(1, modem.dials(ScriptedModem.CONNECTS));
        await().atMost(10, TimeUnit.SECONDS).until(() -> !modem.isOffHook());
    }
}

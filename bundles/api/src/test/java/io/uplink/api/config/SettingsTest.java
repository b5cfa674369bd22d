package io.uplink.api.config;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.Test;

public class SettingsTest {

    enum Security { NONE, TLS, STARTTLS, STARTTLS_IF_AVAILABLE }

    private static Settings fromFile(String id, Map<String, Object> props) {
        Map<String, Object> p = new java.util.HashMap<>(props);
        p.put("service.pid", "io.uplink.connection~" + id);
        p.put(Settings.FILEINSTALL_FILENAME, "file:/srv/karaf/etc/io.uplink.connection-" + id + ".cfg");
        return Settings.of("connection", "io.uplink.connection", p);
    }

    @Test
    public void idComesFromTheFileNameNotFromTheGeneratedPid() {
        Map<String, Object> p = Map.of("service.pid", "io.uplink.connection.5b7c-uuid",
                Settings.FILEINSTALL_FILENAME, "file:/etc/io.uplink.connection-shop.cfg");
        Settings s = Settings.of("connection", "io.uplink.connection", p);
        assertEquals("shop", s.id());
        assertEquals("io.uplink.connection-shop.cfg", s.file());
        assertEquals("home", Settings.of("connection", "io.uplink.connection",
                Map.of("service.pid", "io.uplink.connection~home")).id());
        assertEquals("configuration io.uplink.connection~home", Settings.of("connection", "io.uplink.connection",
                Map.of("service.pid", "io.uplink.connection~home")).file());
    }

    @Test
    public void errorsNameTheItemTheFileAndTheKey() {
        Settings s = fromFile("office", Map.of("dialup.retries", "-1", "timeout", "soon", "security", "ssl",
                "default", "maybe"));
        expect(() -> s.integer("dialup.retries", 3, 0, 100),
                "connection 'office' (io.uplink.connection-office.cfg), key 'dialup.retries': must be between 0 and 100, got -1");
        expect(() -> s.duration("timeout", Duration.ZERO), "key 'timeout': must be a duration");
        expect(() -> s.choice("security", Security.class, Security.TLS),
                "must be one of none, tls, starttls, starttls-if-available, got 'ssl'");
        expect(() -> s.bool("default", false), "key 'default': must be true or false");
        expect(() -> s.required("method"), "key 'method': is required but not set");
    }

    @Test
    public void booleansAreTrueOrFalseAndNothingElse() {
        Settings s = fromFile("office", Map.of("a", "TRUE", "b", "False", "c", Boolean.TRUE));
        assertTrue(s.bool("a", false));
        assertFalse(s.bool("b", true));
        assertTrue(s.bool("c", false));
        assertTrue(s.bool("unset", true));
        for (String bad : List.of("yes", "no", "on", "off", "1", "0", "maybe")) {
            Settings b = fromFile("office", Map.of("default", bad));
            expect(() -> b.bool("default", false), "key 'default': must be true or false, got '" + bad + "'");
        }
    }

    @Test
    public void hugeNumbersAreConfigErrorsNamingTheKey() {
        Settings s = fromFile("office", Map.of("commands.timeout", "99999999999999999999999",
                "network.probe.timeout", "99999999999999999999999s", "t", "9999999999999999", "n", "99999999999999999999999"));
        expect(() -> s.duration("commands.timeout", Duration.ZERO), "key 'commands.timeout': must be a duration");
        expect(() -> s.duration("network.probe.timeout", Duration.ZERO), "key 'network.probe.timeout': must be a duration");
        expect(() -> s.duration("t", Duration.ZERO), "key 't': must be at most 3650d");
        expect(() -> s.integer("n", 0, 0, 10), "key 'n': must be a whole number");
        assertNull(Settings.parseDuration("PT99999999999999999999H"));
    }

    @Test
    public void unknownKeysAreNamedWithTheNearestKnownOne() {
        Map<String, Object> p = new java.util.HashMap<>(Map.of("sendr", "demo", "method", "network", "nmae", "x",
                "zzzzzzzz", "1", "service.factoryPid", "io.uplink.connection", "component.name", "c",
                "felix.fileinstall.dir", "/etc"));
        Settings s = fromFile("office", p);
        assertEquals(List.of(
                "unknown key 'nmae' in io.uplink.connection-office.cfg; did you mean 'name'?",
                "unknown key 'sendr' in io.uplink.connection-office.cfg; did you mean 'sender'?",
                "unknown key 'zzzzzzzz' in io.uplink.connection-office.cfg; it is ignored"),
                s.unknownKeys(List.of("name", "method", "sender", "fallback")));
        assertEquals("network", Settings.suggest("netwrok", List.of("network", "dialup")));
        assertNull(Settings.suggest("isdn", List.of("network", "dialup")));
    }

    /** The metatype's attribute names follow the DS rules, so the OCD is the one list of keys. */
    @interface Ocd {
        String name();

        int leaveOnServer_days();

        boolean default$();

        String trust_file();

        String a$_$b();

        String under__score();
    }

    @Test
    public void keysOfAnOcdFollowTheDeclarativeServicesNaming() {
        assertEquals(java.util.Set.of("name", "leaveOnServer.days", "default", "trust.file", "a-b", "under_score"),
                Settings.keysOf(Ocd.class));
    }

    private static void expect(Runnable r, String part) {
        try {
            r.run();
            fail("expected an error containing " + part);
        } catch (ConfigException e) {
            assertTrue(e.getMessage(), e.getMessage().contains(part));
        }
    }

    @Test
    public void durations() {
        assertEquals(Duration.ofSeconds(30), Settings.parseDuration("30s"));
        assertEquals(Duration.ofSeconds(30), Settings.parseDuration("30"));
        assertEquals(Duration.ofMinutes(90), Settings.parseDuration("1h30m"));
        assertEquals(Duration.ofMinutes(90), Settings.parseDuration("1h 30m"));
        assertEquals(Duration.ofMillis(500), Settings.parseDuration("500ms"));
        assertEquals(Duration.ofDays(5), Settings.parseDuration("5d"));
        assertEquals(Duration.ofSeconds(45), Settings.parseDuration("PT45S"));
        assertNull(Settings.parseDuration("soon"));
        assertNull(Settings.parseDuration("-5s"));
        assertNull(Settings.parseDuration("5 parsecs"));
    }

    @Test
    public void listsChoicesAndSecrets() {
        Settings s = fromFile("c", Map.of("hosts", "a:25, b:587  c", "security", "starttls-if-available",
                "password", "hunter2", "dialup.password", "x", "name", "N",
                "osgi.ds.satisfying.condition.target", "(osgi.condition.id=true)"));
        assertEquals(List.of("a:25", "b:587", "c"), s.list("hosts"));
        assertEquals(Security.STARTTLS_IF_AVAILABLE, s.choice("security", Security.class, Security.TLS));
        Map<String, String> masked = s.masked();
        assertEquals("********", masked.get("password"));
        assertEquals("********", masked.get("dialup.password"));
        assertEquals("N", masked.get("name"));
        assertFalse(masked.containsKey("service.pid"));
        assertFalse("framework keys are not the user's", masked.containsKey("osgi.ds.satisfying.condition.target"));
        assertFalse(s.toString().contains("hunter2"));
    }
}

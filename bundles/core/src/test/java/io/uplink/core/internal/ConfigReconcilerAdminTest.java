package io.uplink.core.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;

import java.io.File;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.osgi.framework.Filter;
import org.osgi.framework.FrameworkUtil;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

/** {@link ConfigReconcilerComponent.AdminLive} over a ConfigurationAdmin that keeps its configurations in a list. */
public class ConfigReconcilerAdminTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    /** One configuration: its PID and properties (null until updated). */
    private static final class Stored {
        final String pid;
        Hashtable<String, Object> props;

        Stored(String pid) {
            this.pid = pid;
        }
    }

    private final List<Stored> stored = new ArrayList<>();
    private final List<String> created = new ArrayList<>();

    private Configuration configuration(Stored s) {
        return (Configuration) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {Configuration.class},
                (proxy, m, args) -> switch (m.getName()) {
                    case "getPid" -> s.pid;
                    case "getProperties" -> s.props == null ? null : new Hashtable<>(s.props);
                    case "update" -> {
                        @SuppressWarnings("unchecked")
                        Dictionary<String, Object> d = (Dictionary<String, Object>) args[0];
                        s.props = new Hashtable<>();
                        for (var k = d.keys(); k.hasMoreElements();) {
                            String key = k.nextElement();
                            s.props.put(key, d.get(key));
                        }
                        s.props.put("service.pid", s.pid);
                        yield null;
                    }
                    default -> throw new UnsupportedOperationException(m.getName());
                });
    }

    private Stored find(String pid) {
        for (Stored s : stored) {
            if (s.pid.equals(pid)) {
                return s;
            }
        }
        Stored s = new Stored(pid);
        stored.add(s);
        created.add(pid);
        return s;
    }

    private ConfigurationAdmin admin() {
        return (ConfigurationAdmin) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {ConfigurationAdmin.class},
                (proxy, m, args) -> switch (m.getName()) {
                    case "listConfigurations" -> {
                        Filter f = FrameworkUtil.createFilter((String) args[0]);
                        List<Configuration> out = new ArrayList<>();
                        for (Stored s : stored) {
                            if (s.props != null && f.match(s.props)) {
                                out.add(configuration(s));
                            }
                        }
                        yield out.isEmpty() ? null : out.toArray(new Configuration[0]);
                    }
                    case "getConfiguration" -> configuration(find((String) args[0]));
                    case "getFactoryConfiguration" -> configuration(find(args[0] + "~" + args[1]));
                    default -> throw new UnsupportedOperationException(m.getName());
                });
    }

    private static String stamp(Path file) {
        return new File(file.toString()).getAbsoluteFile().toURI().toString();
    }

    @Test
    public void appliesAFileAsFileInstallWouldAndFindsItByItsStamp() throws Exception {
        Path etc = tmp.newFolder("etc").toPath().toRealPath();
        Path other = tmp.newFolder("elsewhere").toPath().toRealPath();
        ConfigReconcilerComponent.AdminLive live = new ConfigReconcilerComponent.AdminLive(admin(), etc);
        // a configuration of another folder and one without a file are not the folder's
        find("io.uplink.connection~far").props = new Hashtable<>(Map.of("felix.fileinstall.filename",
                stamp(other.resolve("io.uplink.connection-far.cfg")), "name", "Far"));
        find("io.uplink.web").props = new Hashtable<>(Map.of("port", "1"));
        assertEquals(Map.of(), live.byFile());

        Path office = etc.resolve("io.uplink.connection-office-2.cfg");
        live.apply(office, Map.of("name", "Office"));
        live.apply(etc.resolve("io.uplink.core.cfg"), Map.of("maxConnections", "20"));
        assertEquals(List.of("io.uplink.connection~far", "io.uplink.web", "io.uplink.connection~office-2", "io.uplink.core"),
                created);
        Map<String, Map<String, Object>> byFile = live.byFile();
        assertEquals("Office", byFile.get("io.uplink.connection-office-2.cfg").get("name"));
        assertEquals(stamp(office), byFile.get("io.uplink.connection-office-2.cfg").get("felix.fileinstall.filename"));
        assertEquals("20", byFile.get("io.uplink.core.cfg").get("maxConnections"));

        // applied again: the stamped configuration is updated, no second one is made
        live.apply(office, Map.of("name", "Office 2"));
        assertEquals(4, created.size());
        assertEquals("Office 2", live.byFile().get("io.uplink.connection-office-2.cfg").get("name"));
        assertNull(live.byFile().get("io.uplink.connection-far.cfg"));
    }
}

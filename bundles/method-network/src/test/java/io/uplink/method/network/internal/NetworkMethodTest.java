package io.uplink.method.network.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.uplink.api.config.ConfigException;
import io.uplink.api.config.Settings;
import io.uplink.api.method.ConnectException;
import io.uplink.api.method.Link;
import io.uplink.api.method.LinkContext;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.HashMap;
import java.util.Map;

import org.junit.Test;

public class NetworkMethodTest {

    private final NetworkMethod method = new NetworkMethod();

    private static Settings settings(String... kv) {
        Map<String, Object> p = new HashMap<>();
        p.put("service.pid", "io.uplink.connection~office");
        p.put(Settings.FILEINSTALL_FILENAME, "file:/x/etc/io.uplink.connection-office.cfg");
        p.put("method", "network");
        for (int i = 0; i < kv.length; i += 2) {
            p.put(kv[i], kv[i + 1]);
        }
        return Settings.of("connection", "io.uplink.connection", p);
    }

    private static LinkContext ctx(Settings s) {
        return new LinkContext() {
            @Override
            public String connectionId() {
                return s.id();
            }

            @Override
            public String connectionName() {
                return s.id();
            }

            @Override
            public String firingId() {
                return "f1";
            }

            @Override
            public Settings settings() {
                return s;
            }

            @Override
            public void progress(String message) {
            }
        };
    }

    @Test
    public void withoutAProbeTheNetworkIsAssumed() throws Exception {
        Link l = method.connect(ctx(settings()));
        assertEquals("network", l.describe());
        l.close();
    }

    @Test
    public void aProbeThatAnswersConnects() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Link l = method.connect(ctx(settings("network.probe", "127.0.0.1:" + server.getLocalPort())));
            assertTrue(l.describe().contains("answered"));
        }
    }

    @Test
    public void aDeadProbeFailsFast() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        try {
            method.connect(ctx(settings("network.probe", "127.0.0.1:" + port, "network.probe.timeout", "2s")));
            fail("a closed port must not count as a link");
        } catch (ConnectException e) {
            assertTrue(e.getMessage(), e.getMessage().startsWith("network probe 127.0.0.1:" + port + " failed"));
        }
    }

    @Test
    public void badProbeValuesNameFileAndKey() {
        for (String bad : new String[] {"router", "router:", "router:http", "router:70000"}) {
            try {
                method.validate(settings("network.probe", bad));
                fail(bad + " must be refused");
            } catch (ConfigException e) {
                assertTrue(e.getMessage(), e.getMessage().contains("io.uplink.connection-office.cfg"));
                assertEquals("network.probe", e.key());
            }
        }
        try {
            method.validate(settings("network.probe", "router:80", "network.probe.timeout", "0"));
            fail("a zero timeout must be refused");
        } catch (ConfigException e) {
            assertEquals("network.probe.timeout", e.key());
        }
    }

    @Test
    public void aHugeProbeTimeoutNamesTheKey() {
        for (String bad : new String[] {"99999999999999999999999", "99999999999999999999999s", "9999999999999999"}) {
            try {
                method.validate(settings("network.probe", "router:80", "network.probe.timeout", bad));
                fail(bad + " must be refused");
            } catch (ConfigException e) {
                assertEquals(e.getMessage(), "network.probe.timeout", e.key());
                assertTrue(e.getMessage(), e.getMessage().contains("io.uplink.connection-office.cfg"));
            }
        }
    }
}

package io.uplink.mail.internal.demo;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.uplink.mail.internal.outbox.FileOutbox;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;

import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** The demo server (real GreenMail on free loopback ports) across restarts of the same data folder. */
public class DemoServerTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private String karafData;
    private Path data;

    @Before
    public void useATemporaryDataFolder() {
        karafData = System.getProperty("karaf.data");
        data = tmp.getRoot().toPath().resolve("data");
        System.setProperty("karaf.data", data.toString());
    }

    @After
    public void restore() {
        if (karafData == null) {
            System.clearProperty("karaf.data");
        } else {
            System.setProperty("karaf.data", karafData);
        }
    }

    @Test
    public void theDemoMessagesAreSeededAtTheFirstStartOnly() throws Exception {
        FileOutbox outbox = new FileOutbox(data.resolve("outbox"), data.resolve("mailboxes/postmaster"),
                Clock.systemUTC(), FileOutbox.Retry.DEFAULT);

        DemoServer first = new DemoServer(outbox, properties());
        try {
            assertEquals("the three demo messages wait on the first start", 3, first.waiting());
        } finally {
            first.deactivate();
        }
        assertTrue(Files.exists(data.resolve("uplink/demo/mailbox-seeded")));
        assertEquals("the welcome message is queued once", 1, outbox.size());

        DemoServer again = new DemoServer(outbox, properties());
        try {
            assertEquals("a restart does not offer the same messages again", 0, again.waiting());
        } finally {
            again.deactivate();
        }
        assertEquals(1, outbox.size());
    }

    private static Map<String, Object> properties() throws IOException {
        Map<String, Object> p = new HashMap<>();
        p.put("service.pid", DemoServer.PID);
        p.put("smtp.port", String.valueOf(freePort()));
        p.put("pop3.port", String.valueOf(freePort()));
        p.put("imap.port", String.valueOf(freePort()));
        return p;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}

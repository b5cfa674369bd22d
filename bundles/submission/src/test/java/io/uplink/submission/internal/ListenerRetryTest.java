package io.uplink.submission.internal;

import static org.awaitility.Awaitility.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.uplink.mail.internal.outbox.FileOutbox;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * A listen address that another process holds when the listener starts (say the previous process, still shutting
 * down) is tried again until it is free, instead of leaving the office without a listener until the file is edited.
 */
public class ListenerRetryTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    @Test
    public void anAddressInUseIsTakenOnceItIsFree() throws Exception {
        FileOutbox outbox = new FileOutbox(tmp.newFolder("outbox").toPath(), tmp.newFolder("postmaster").toPath(),
                Clock.systemUTC(), FileOutbox.Retry.DEFAULT);
        SubmissionComponent c = new SubmissionComponent(outbox);
        int port;
        try (ServerSocket holder = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            port = holder.getLocalPort();
            c.apply(Map.of("listen", "127.0.0.1:" + port));
            // held by someone else: closed, and waiting
            assertEquals(List.of(), c.ports());
        }
        try {
            await().atMost(10, TimeUnit.SECONDS).until(() -> c.ports().equals(List.of(port)));
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
                s.setSoTimeout(10_000);
                String greeting = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII))
                        .readLine();
                assertTrue(greeting, greeting.startsWith("220 "));
            }
        } finally {
            c.deactivate();
        }
        assertEquals(List.of(), c.ports());
    }

    @Test
    public void aNewConfigurationStopsTheRetriesOfTheOldOne() throws Exception {
        FileOutbox outbox = new FileOutbox(tmp.newFolder("outbox").toPath(), tmp.newFolder("postmaster").toPath(),
                Clock.systemUTC(), FileOutbox.Retry.DEFAULT);
        SubmissionComponent c = new SubmissionComponent(outbox);
        try (ServerSocket held = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            c.apply(Map.of("listen", "127.0.0.1:" + held.getLocalPort()));
            c.apply(Map.of("listen", "127.0.0.1:0"));
            List<Integer> now = c.ports();
            assertEquals(1, now.size());
            held.close();
            // the old address's retry (due after 1 s) must not replace the listener of the new configuration
            await().pollDelay(1500, TimeUnit.MILLISECONDS).atMost(5, TimeUnit.SECONDS).until(() -> c.ports().equals(now));
        } finally {
            c.deactivate();
        }
    }
}

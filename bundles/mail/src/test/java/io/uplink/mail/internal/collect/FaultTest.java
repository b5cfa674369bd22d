package io.uplink.mail.internal.collect;

import io.uplink.api.mail.CollectReport;
import static io.uplink.mail.internal.collect.Fixture.collect;
import static io.uplink.mail.internal.collect.Fixture.message;
import static io.uplink.mail.internal.collect.Fixture.mime;
import static io.uplink.mail.internal.collect.Fixture.settings;
import static io.uplink.mail.internal.collect.Fixture.subjects;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import com.icegreen.greenmail.user.GreenMailUser;
import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;

import io.uplink.testsupport.MovableClock;

/** A line cut before QUIT, and hostile servers. */
public class FaultTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private GreenMail greenMail;
    private GreenMailUser alice;
    private final MovableClock clock = new MovableClock(Instant.parse("2026-03-01T10:00:00Z"));

    @Before
    public void start() {
        greenMail = new GreenMail(new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_POP3));
        greenMail.start();
        alice = greenMail.setUser("alice@example.com", "alice", "pw");
    }

    @After
    public void stop() {
        greenMail.stop();
    }

    private int onServer() throws Exception {
        return greenMail.getManagers().getImapHostManager().getInbox(alice).getMessageCount();
    }

    /**
     * Forwards POP3 to GreenMail; while {@code cut} is set it drops both sides the moment the client
     * sends its first DELE or QUIT, that is after every RETR and before the server deleted anything.
     */
    static final class CuttingProxy implements AutoCloseable {
        final ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        final AtomicBoolean cut = new AtomicBoolean(true);
        final AtomicLong cuts = new AtomicLong();

        CuttingProxy(int target) throws IOException {
            Thread t = new Thread(() -> {
                while (!server.isClosed()) {
                    try {
                        Socket client = server.accept();
                        Socket upstream = new Socket(InetAddress.getLoopbackAddress(), target);
                        pump(upstream.getInputStream(), client.getOutputStream(), null, client, upstream);
                        pump(client.getInputStream(), upstream.getOutputStream(), this, client, upstream);
                    } catch (IOException e) {
                        return;
                    }
                }
            }, "cutting-proxy");
            t.setDaemon(true);
            t.start();
        }

        private static void pump(InputStream in, OutputStream out, CuttingProxy watch, Socket a, Socket b) {
            Thread t = new Thread(() -> {
                ByteArrayOutputStream line = new ByteArrayOutputStream();
                try {
                    int c;
                    while ((c = in.read()) >= 0) {
                        line.write(c);
                        if (c == '\n') {
                            String l = line.toString(StandardCharsets.US_ASCII);
                            line.reset();
                            if (watch != null && watch.cut.get() && (l.startsWith("DELE") || l.startsWith("QUIT"))) {
                                watch.cuts.incrementAndGet();
                                a.close();
                                b.close();
                                return;
                            }
                            out.write(l.getBytes(StandardCharsets.US_ASCII));
                            out.flush();
                        } else if (watch == null && line.size() >= 8192) {
                            out.write(line.toByteArray());
                            line.reset();
                        }
                    }
                    out.write(line.toByteArray());
                    out.flush();
                } catch (IOException e) {
                    // the other side went away
                } finally {
                    try {
                        a.close();
                        b.close();
                    } catch (IOException ignored) {
                        // closing
                    }
                }
            }, "pump");
            t.setDaemon(true);
            t.start();
        }

        int port() {
            return server.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }

    @Test
    public void aLineDroppedAfterRetrBeforeQuitLosesNothingAndDuplicatesNothing() throws Exception {
        for (int i = 1; i <= 6; i++) {
            alice.deliver(mime(message("bob@example.net", "alice@example.com", "cut " + i, "body " + i)));
        }
        Path dir = tmp.getRoot().toPath();
        try (CuttingProxy proxy = new CuttingProxy(greenMail.getPop3().getPort())) {
            String[] cfg = {"connections", "office", "protocol", "pop3", "host", "127.0.0.1", "port",
                String.valueOf(proxy.port()), "security", "none", "username", "alice", "password", "pw",
                "deliverTo", "alice", "timeout", "10s"};
            CollectReport first = collect(settings("alice", cfg), dir, clock);
            assertEquals(1, proxy.cuts.get());
            assertEquals(6, first.collected());
            assertEquals(1, first.errors().size());
            assertTrue(first.errors().get(0), first.errors().get(0).contains("will be deleted on the next firing"));
            assertEquals("the server still holds every message", 6, onServer());
            assertEquals(6, subjects(dir.resolve("mailboxes/alice")).size());

            proxy.cut.set(false);
            CollectReport second = collect(settings("alice", cfg), dir, clock);
            assertEquals(List.of(), second.errors());
            assertEquals("the ledger knows them: none is collected twice", 0, second.collected());
            assertEquals("and now they are deleted", 0, onServer());
            assertEquals(List.of("cut 1", "cut 2", "cut 3", "cut 4", "cut 5", "cut 6"), subjects(dir.resolve("mailboxes/alice")));
        }
    }

    /** A server that greets and then sends one line that never ends. */
    private static ServerSocket endlessLineServer(String greetingStart, AtomicLong sent) throws IOException {
        ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread t = new Thread(() -> {
            try (Socket s = server.accept(); OutputStream out = s.getOutputStream()) {
                out.write(greetingStart.getBytes(StandardCharsets.US_ASCII));
                byte[] chunk = "A".repeat(64 * 1024).getBytes(StandardCharsets.US_ASCII);
                // endless, up to a safety stop far beyond the limit so a broken client cannot hang the build
                while (sent.get() < 1024L * 1024 * 1024) {
                    out.write(chunk);
                    sent.addAndGet(chunk.length);
                }
            } catch (IOException e) {
                // the client hung up: what we wanted
            }
        }, "endless-line");
        t.setDaemon(true);
        t.start();
        return server;
    }

    @Test
    public void anEndlessLineFromAPop3ServerIsAClearErrorWithBoundedMemory() throws Exception {
        endless("pop3", "+OK ");
    }

    @Test
    public void anEndlessLineFromAnImapServerIsAClearErrorWithBoundedMemory() throws Exception {
        endless("imap", "* OK ");
    }

    private void endless(String protocol, String greeting) throws Exception {
        AtomicLong sent = new AtomicLong();
        try (ServerSocket hostile = endlessLineServer(greeting, sent)) {
            CollectReport r = collect(settings("hostile", "connections", "office", "protocol", protocol, "host", "127.0.0.1",
                    "port", String.valueOf(hostile.getLocalPort()), "security", "none", "username", "u",
                    "password", "p", "deliverTo", "u", "timeout", "20s"), tmp.getRoot().toPath(), clock);
            assertEquals(0, r.collected());
            assertEquals(1, r.errors().size());
            assertTrue(r.errors().get(0), r.errors().get(0).contains("a line longer than 4194304 bytes"));
            assertTrue("stopped reading soon after the limit, sent " + sent.get(), sent.get() < 64L * 1024 * 1024);
        }
    }
}

package io.uplink.mail.internal.collect;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import com.icegreen.greenmail.user.GreenMailUser;
import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;

import io.uplink.api.mail.CollectReport;
import io.uplink.testsupport.MovableClock;

/** Sessions per server host are bounded, and a server that has too many sessions is asked again, not failed. */
public class SessionLimitTest {

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

    /**
     * A POP3 front that refuses the first {@code refusals} logins the way Dovecot does when a mailbox is in
     * use, then forwards every later session to GreenMail.
     */
    static final class BusyFront implements AutoCloseable {
        final ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        final AtomicInteger refusals;

        BusyFront(int target, int refusals, String refusal) throws IOException {
            this.refusals = new AtomicInteger(refusals);
            Thread t = new Thread(() -> {
                while (!server.isClosed()) {
                    try {
                        Socket client = server.accept();
                        if (this.refusals.getAndDecrement() > 0) {
                            refuse(client, refusal);
                        } else {
                            forward(client, new Socket(InetAddress.getLoopbackAddress(), target));
                        }
                    } catch (IOException e) {
                        return;
                    }
                }
            }, "busy-front");
            t.setDaemon(true);
            t.start();
        }

        private static void refuse(Socket client, String refusal) {
            Thread t = new Thread(() -> {
                try (client) {
                    OutputStream out = client.getOutputStream();
                    BufferedReader in = new BufferedReader(new InputStreamReader(client.getInputStream(), StandardCharsets.US_ASCII));
                    out.write("+OK busy front ready\r\n".getBytes(StandardCharsets.US_ASCII));
                    String line;
                    while ((line = in.readLine()) != null) {
                        String reply = line.startsWith("PASS") ? refusal : line.startsWith("QUIT") ? "+OK bye"
                                : line.startsWith("CAPA") ? "+OK\r\nUSER\r\nUIDL\r\n." : "+OK";
                        out.write((reply + "\r\n").getBytes(StandardCharsets.US_ASCII));
                        if (line.startsWith("QUIT")) {
                            return;
                        }
                    }
                } catch (IOException e) {
                    // the client went away
                }
            }, "busy-refusal");
            t.setDaemon(true);
            t.start();
        }

        private static void forward(Socket client, Socket upstream) {
            pump(client, upstream);
            pump(upstream, client);
        }

        private static void pump(Socket from, Socket to) {
            Thread t = new Thread(() -> {
                try {
                    from.getInputStream().transferTo(to.getOutputStream());
                } catch (IOException e) {
                    // one side closed
                } finally {
                    try {
                        from.close();
                        to.close();
                    } catch (IOException ignored) {
                        // closing
                    }
                }
            }, "busy-pump");
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
    public void aServerWithTooManySessionsIsAskedAgainWithGrowingPausesAndTheMailIsCollected() throws Exception {
        for (int i = 1; i <= 3; i++) {
            alice.deliver(Fixture.mime(Fixture.message("bob@example.net", "alice@example.com", "busy " + i, "body " + i)));
        }
        List<Long> pauses = Collections.synchronizedList(new ArrayList<>());
        try (BusyFront front = new BusyFront(greenMail.getPop3().getPort(), 2,
                "-ERR [IN-USE] Mailbox is locked by another POP3 session")) {
            CollectReport r = Fixture.collection(Fixture.settings("alice", "connections", "office", "protocol", "pop3",
                    "host", "127.0.0.1", "port", String.valueOf(front.port()), "security", "none", "username", "alice",
                    "password", "pw", "deliverTo", "alice", "timeout", "10s"), tmp.getRoot().toPath(), clock)
                    .withPause(pauses::add).run(new Fixture.Context());
            assertEquals(r.errors().toString(), 3, r.collected());
            assertTrue(r.errors().toString(), r.errors().isEmpty());
            assertEquals(List.of(1000L, 2000L), pauses);
        }
        assertEquals("deleted on the server once stored", 0,
                greenMail.getManagers().getImapHostManager().getInbox(alice).getMessageCount());
        try (java.util.stream.Stream<java.nio.file.Path> files = java.nio.file.Files.list(
                tmp.getRoot().toPath().resolve("mailboxes/alice/new"))) {
            assertEquals(3, files.count());
        }
    }

    @Test
    public void aServerThatStaysBusyFailsTheCollectorAfterFiveAsksAndAWrongPasswordIsNotAskedAgain() throws Exception {
        List<Long> pauses = Collections.synchronizedList(new ArrayList<>());
        try (BusyFront front = new BusyFront(greenMail.getPop3().getPort(), 100,
                "-ERR Maximum number of connections from user+IP exceeded (mail_max_userip_connections=10)")) {
            CollectReport r = Fixture.collection(Fixture.settings("alice", "connections", "office", "protocol", "pop3",
                    "host", "127.0.0.1", "port", String.valueOf(front.port()), "security", "none", "username", "alice",
                    "password", "pw", "deliverTo", "alice", "timeout", "10s"), tmp.getRoot().toPath(), clock)
                    .withPause(pauses::add).run(new Fixture.Context());
            assertEquals(0, r.collected());
            assertTrue(r.taskFailed());
            assertTrue(r.errors().toString(), r.errors().get(0).contains("Maximum number of connections"));
            assertEquals(List.of(1000L, 2000L, 4000L, 8000L), pauses);
        }
        pauses.clear();
        try (BusyFront front = new BusyFront(greenMail.getPop3().getPort(), 100, "-ERR [AUTH] Authentication failed.")) {
            CollectReport r = Fixture.collection(Fixture.settings("alice", "connections", "office", "protocol", "pop3",
                    "host", "127.0.0.1", "port", String.valueOf(front.port()), "security", "none", "username", "alice",
                    "password", "wrong", "deliverTo", "alice", "timeout", "10s"), tmp.getRoot().toPath(), clock)
                    .withPause(pauses::add).run(new Fixture.Context());
            assertTrue(r.taskFailed());
            assertEquals("a refused login is not a busy server", List.of(), pauses);
        }
    }

    @Test
    public void sessionsToOneHostNeverExceedTheLimitAndARaisedLimitLetsWaitersIn() throws Exception {
        HostSessions sessions = new HostSessions(2);
        AtomicInteger open = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        CountDownLatch release = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            Thread t = new Thread(() -> {
                try {
                    sessions.acquire("Mail.Example.NET");
                    try {
                        most.accumulateAndGet(open.incrementAndGet(), Math::max);
                        release.await(10, TimeUnit.SECONDS);
                        open.decrementAndGet();
                    } finally {
                        sessions.release("mail.example.net");
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            t.start();
            threads.add(t);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (sessions.open("mail.example.net") < 2 && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertEquals("host names are compared without case", 2, sessions.open("MAIL.example.net"));
        // another host is not held up by this one
        sessions.acquire("other.example.net");
        sessions.release("other.example.net");
        sessions.setLimit(4);
        while (sessions.open("mail.example.net") < 4 && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertEquals(4, sessions.open("mail.example.net"));
        release.countDown();
        for (Thread t : threads) {
            t.join(10_000);
            assertFalse(t.isAlive());
        }
        assertEquals(4, most.get());
        assertEquals(0, sessions.open("mail.example.net"));
    }
}

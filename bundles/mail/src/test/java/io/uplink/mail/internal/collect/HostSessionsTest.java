package io.uplink.mail.internal.collect;

import static io.uplink.testsupport.PermitHolders.blocked;
import static io.uplink.testsupport.PermitHolders.waitFor;
import static org.awaitility.Awaitility.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import com.icegreen.greenmail.user.GreenMailUser;
import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;

import io.uplink.api.mail.CollectReport;
import io.uplink.testsupport.FakeConnections;

import io.uplink.testsupport.PermitHolders;

/** Sessions per server host: bounded per host, and a changed limit applies to hosts already seen and new ones. */
public class HostSessionsTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    /**
     * End to end: twelve collectors of a real POP3 server (GreenMail, behind a proxy that reads the commands)
     * collected all at once keep to the shared per-host limit: never more sessions signed in (USER, until their
     * QUIT) than the limit, and everything collected.
     */
    @Test
    public void collectorsCollectingAtOnceKeepToTheLimitOfSessionsToOneServer() throws Exception {
        int collectors = 12;
        int limit = 3;
        GreenMail server = new GreenMail(new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_POP3));
        server.start();
        AtomicInteger signedIn = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        HostSessions.shared().setLimit(limit);
        try (CommandProxy proxy = new CommandProxy(new InetSocketAddress("127.0.0.1", server.getPop3().getPort()), l -> {
            if (l.startsWith("C: USER ")) {
                most.accumulateAndGet(signedIn.incrementAndGet(), Math::max);
            } else if (l.equals("C: QUIT")) {
                signedIn.decrementAndGet();
            }
            return false;
        })) {
            Path data = tmp.getRoot().toPath();
            List<MailCollectorComponent> components = new ArrayList<>();
            for (int i = 0; i < collectors; i++) {
                GreenMailUser u = server.setUser("u" + i + "@example.com", "u" + i, "pw-" + i);
                for (int m = 0; m < 3; m++) {
                    u.deliver(Fixture.mime(Fixture.message("bob@example.net", "u" + i + "@example.com", "m" + m, "Hello")));
                }
                Map<String, Object> p = new LinkedHashMap<>();
                p.put("service.pid", "io.uplink.collector~u" + i);
                String[] kv = {"connections", "office", "protocol", "pop3", "host", "127.0.0.1", "port",
                    String.valueOf(proxy.port()), "security", "none", "username", "u" + i, "password", "pw-" + i,
                    "deliverTo", "u" + i};
                for (int k = 0; k < kv.length; k += 2) {
                    p.put(kv[k], kv[k + 1]);
                }
                components.add(new MailCollectorComponent(data, new FakeConnections().add("office"), new IdleTest.Schedule(),
                        Duration.ofMinutes(1), p));
            }
            CountDownLatch go = new CountDownLatch(1);
            List<Future<CollectReport>> runs = new ArrayList<>();
            ExecutorService pool = Executors.newFixedThreadPool(collectors);
            try {
                for (MailCollectorComponent c : components) {
                    runs.add(pool.submit(() -> {
                        go.await();
                        return c.collect(new Fixture.Context());
                    }));
                }
                go.countDown();
                for (Future<CollectReport> r : runs) {
                    CollectReport report = r.get(60, TimeUnit.SECONDS);
                    assertEquals(report.errors().toString(), 3, report.collected());
                }
            } finally {
                pool.shutdownNow();
            }
            assertEquals("every session ended", 0, signedIn.get());
            assertTrue("at most " + limit + " sessions signed in at once, saw " + most.get(), most.get() <= limit);
            assertTrue("the collectors ran side by side (saw " + most.get() + " at once)", most.get() >= 2);
        } finally {
            HostSessions.shared().setLimit(HostSessions.DEFAULT_LIMIT);
            server.stop();
        }
    }

    /** A collector run: takes a place for {@code host}, counts it, holds it until {@code hold} opens. */
    private static Thread run(HostSessions sessions, String host, AtomicInteger got, CountDownLatch hold) {
        return PermitHolders.hold(new PermitHolders.Permits() {
            @Override
            public void acquire() throws InterruptedException {
                sessions.acquire(host);
            }

            @Override
            public void release() {
                sessions.release(host);
            }
        }, got, hold);
    }

    /** Takes one place for {@code host}, then shows that a second one waits; both are let go when {@code hold} opens. */
    private static void oneAtATime(HostSessions sessions, String host, AtomicInteger got, CountDownLatch hold) {
        run(sessions, host, got, hold);
        waitFor(got, 1);
        blocked(run(sessions, host, got, hold));
        assertEquals("one at a time for " + host, 1, got.get());
    }

    @Test
    public void eachHostIsBoundedOnItsOwnAndARaisedLimitLetsWaitersIn() {
        HostSessions sessions = new HostSessions(1);
        AtomicInteger a = new AtomicInteger();
        AtomicInteger b = new AtomicInteger();
        CountDownLatch hold = new CountDownLatch(1);
        run(sessions, "pop.example.net", a, hold);
        waitFor(a, 1);
        Thread second = run(sessions, "POP.example.net", a, hold);
        blocked(second);
        assertEquals("the same host, whatever the case: it waits", 1, a.get());
        run(sessions, "imap.example.org", b, hold);
        waitFor(b, 1);

        sessions.setLimit(2);
        waitFor(a, 2);
        assertEquals(2, sessions.open("pop.example.net"));
        hold.countDown();
        await().atMost(10, TimeUnit.SECONDS).until(() -> sessions.open("pop.example.net") == 0);
        assertEquals(0, sessions.open("imap.example.org"));
    }

    @Test
    public void aLoweredLimitTakesEffectAsSessionsEndAndNewHostsStartAtIt() {
        HostSessions sessions = new HostSessions(3);
        AtomicInteger got = new AtomicInteger();
        CountDownLatch hold = new CountDownLatch(1);
        for (int i = 0; i < 3; i++) {
            run(sessions, "pop.example.net", got, hold);
        }
        waitFor(got, 3);
        sessions.setLimit(1);
        assertEquals("sessions over a lowered limit finish", 3, sessions.open("pop.example.net"));
        hold.countDown();
        await().atMost(10, TimeUnit.SECONDS).until(() -> sessions.open("pop.example.net") == 0);

        AtomicInteger later = new AtomicInteger();
        CountDownLatch holdLater = new CountDownLatch(1);
        oneAtATime(sessions, "pop.example.net", later, holdLater);
        // a host seen for the first time starts at the current limit
        AtomicInteger fresh = new AtomicInteger();
        CountDownLatch holdFresh = new CountDownLatch(1);
        oneAtATime(sessions, "new.example.com", fresh, holdFresh);
        holdLater.countDown();
        holdFresh.countDown();
        waitFor(later, 2);
        waitFor(fresh, 2);
    }
}

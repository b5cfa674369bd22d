package io.uplink.mail.internal.collect;

import static io.uplink.testsupport.PermitHolders.blocked;
import static io.uplink.testsupport.PermitHolders.waitFor;
import static org.awaitility.Awaitility.await;
import static org.junit.Assert.assertEquals;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.Test;

import io.uplink.testsupport.PermitHolders;

/** Sessions per server host: bounded per host, and a changed limit applies to hosts already seen and new ones. */
public class HostSessionsTest {

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

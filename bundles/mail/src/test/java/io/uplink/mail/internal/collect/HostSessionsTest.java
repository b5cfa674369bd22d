package io.uplink.mail.internal.collect;

import static org.awaitility.Awaitility.await;
import static org.junit.Assert.assertEquals;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.Test;

/** Sessions per server host: bounded per host, and a changed limit applies to hosts already seen and new ones. */
public class HostSessionsTest {

    /** A collector run: takes a place for {@code host}, counts it, holds it until {@code hold} opens. */
    private static Thread run(HostSessions sessions, String host, AtomicInteger got, CountDownLatch hold) {
        Thread t = new Thread(() -> {
            try {
                sessions.acquire(host);
                got.incrementAndGet();
                hold.await();
                sessions.release(host);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        t.setDaemon(true);
        t.start();
        return t;
    }

    private static void waitFor(AtomicInteger value, int expected) {
        await().atMost(10, TimeUnit.SECONDS).until(() -> value.get() == expected);
    }

    private static void blocked(Thread t) {
        await().atMost(10, TimeUnit.SECONDS).until(() -> t.getState() == Thread.State.WAITING);
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
        run(sessions, "pop.example.net", later, holdLater);
        waitFor(later, 1);
        Thread over = run(sessions, "pop.example.net", later, holdLater);
        blocked(over);
        assertEquals("one at a time now", 1, later.get());

        AtomicInteger fresh = new AtomicInteger();
        CountDownLatch holdFresh = new CountDownLatch(1);
        run(sessions, "new.example.com", fresh, holdFresh);
        waitFor(fresh, 1);
        Thread freshOver = run(sessions, "new.example.com", fresh, holdFresh);
        blocked(freshOver);
        assertEquals("a host seen for the first time starts at the current limit", 1, fresh.get());
        holdLater.countDown();
        holdFresh.countDown();
        waitFor(later, 2);
        waitFor(fresh, 2);
    }
}

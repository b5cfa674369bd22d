package io.uplink.core.internal;

import static io.uplink.testsupport.PermitHolders.blocked;
import static io.uplink.testsupport.PermitHolders.waitFor;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.Test;

import io.uplink.testsupport.PermitHolders;

/** The global pool of collector sessions: bounded, resizable while firings wait, one waiter per freed slot. */
public class CollectorSlotsTest {

    private static Thread taker(CollectorSlots slots, AtomicInteger got, CountDownLatch hold) {
        return PermitHolders.hold(new PermitHolders.Permits() {
            @Override
            public void acquire() throws InterruptedException {
                slots.acquire();
            }

            @Override
            public void release() {
                slots.release();
            }
        }, got, hold);
    }

    @Test
    public void aFullPoolMakesTheNextWaitAndAFreedSlotLetsOneIn() throws Exception {
        CollectorSlots slots = new CollectorSlots(2);
        AtomicInteger got = new AtomicInteger();
        CountDownLatch hold = new CountDownLatch(1);
        Thread first = taker(slots, got, hold);
        Thread second = taker(slots, got, hold);
        waitFor(got, 2);
        assertEquals(2, slots.inUse());
        AtomicInteger third = new AtomicInteger();
        CountDownLatch holdThird = new CountDownLatch(1);
        Thread t = taker(slots, third, holdThird);
        blocked(t);
        assertEquals("the pool is full: the third waits", 0, third.get());
        hold.countDown();
        waitFor(third, 1);
        holdThird.countDown();
        // all three have let go only once each thread has ended (the third got in when one of the first two let
        // go; the other may still be on its way out)
        for (Thread x : new Thread[] {first, second, t}) {
            x.join(10_000);
            assertFalse(x.isAlive());
        }
        assertEquals(0, slots.inUse());
    }

    @Test
    public void aLargerPoolLetsWaitersInAtOnceAndASmallerOneTakesEffectAsSessionsEnd() throws Exception {
        CollectorSlots slots = new CollectorSlots(1);
        AtomicInteger got = new AtomicInteger();
        CountDownLatch hold = new CountDownLatch(1);
        for (int i = 0; i < 3; i++) {
            taker(slots, got, hold);
        }
        waitFor(got, 1);
        slots.resize(3);
        waitFor(got, 3);
        assertEquals(3, slots.inUse());

        slots.resize(1);
        assertEquals(1, slots.limit());
        assertEquals("sessions over a lowered limit finish", 3, slots.inUse());
        hold.countDown();
        AtomicInteger later = new AtomicInteger();
        CountDownLatch holdLater = new CountDownLatch(1);
        taker(slots, later, holdLater);
        waitFor(later, 1);
        assertEquals(1, slots.inUse());
        AtomicInteger over = new AtomicInteger();
        Thread t = taker(slots, over, new CountDownLatch(0));
        blocked(t);
        assertEquals("the lowered limit holds: one at a time", 0, over.get());
        holdLater.countDown();
        waitFor(over, 1);
        t.join(10_000);
        assertEquals(0, slots.inUse());
    }
}

package io.uplink.core.internal;

import java.util.concurrent.Semaphore;

/**
 * The one pool of collector sessions shared by every firing ({@code collectors.parallel}): a hundred
 * connections fired together open at most this many sessions, not a hundred times it. A counting semaphore
 * whose size can change while firings wait on it (a smaller size takes effect as sessions end).
 *
 * <p>A fair {@link Semaphore}: a freed slot wakes the one thread that waited longest. A monitor with
 * {@code notifyAll} woke every waiting thread on each release (a thousand threads of a hundred firings, all
 * but one going back to sleep): in the many-mailboxes benchmark that herd was the largest single CPU item.
 */
final class CollectorSlots {

    /** Exposes {@link Semaphore#reducePermits}, which lowers the size without waiting for slots to free. */
    private static final class Permits extends Semaphore {
        private static final long serialVersionUID = 1L;

        Permits(int permits) {
            super(permits, true);
        }

        void reduce(int by) {
            reducePermits(by);
        }
    }

    private final Permits permits;
    private int limit;

    CollectorSlots(int limit) {
        this.limit = limit;
        this.permits = new Permits(limit);
    }

    synchronized void resize(int newLimit) {
        int change = newLimit - limit;
        limit = newLimit;
        if (change > 0) {
            permits.release(change);
        } else if (change < 0) {
            // may go below zero: the slots in use over the new size are simply not given out again
            permits.reduce(-change);
        }
    }

    synchronized int limit() {
        return limit;
    }

    /** Waits for a free slot. */
    void acquire() throws InterruptedException {
        permits.acquire();
    }

    void release() {
        permits.release();
    }

    /** Slots taken now. */
    synchronized int inUse() {
        return limit - permits.availablePermits();
    }
}

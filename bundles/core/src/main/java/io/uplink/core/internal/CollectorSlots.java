package io.uplink.core.internal;

/**
 * The one pool of collector sessions shared by every firing ({@code collectors.parallel}): a hundred
 * connections fired together open at most this many sessions, not a hundred times it. A counting semaphore
 * whose size can change while firings wait on it (a smaller size takes effect as sessions end).
 */
final class CollectorSlots {

    private int limit;
    private int used;

    CollectorSlots(int limit) {
        this.limit = limit;
    }

    synchronized void resize(int newLimit) {
        limit = newLimit;
        notifyAll();
    }

    synchronized int limit() {
        return limit;
    }

    /** Waits for a free slot. */
    synchronized void acquire() throws InterruptedException {
        while (used >= limit) {
            wait();
        }
        used++;
    }

    synchronized void release() {
        used--;
        notifyAll();
    }

    /** Slots taken now. */
    synchronized int inUse() {
        return used;
    }
}

package io.uplink.testsupport;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

/**
 * Threads that take a place from a bounded pool (the engine's collector slots, the sessions per server host),
 * count it and hold it until a latch opens, for tests of such pools. Waits poll a condition with a deadline.
 */
public final class PermitHolders {

    /** The pool under test. */
    public interface Permits {
        void acquire() throws InterruptedException;

        void release();
    }

    private PermitHolders() {
    }

    /** Starts a thread that takes a place, counts it in {@code got}, and gives it back once {@code hold} opens. */
    public static Thread hold(Permits permits, AtomicInteger got, CountDownLatch hold) {
        Thread t = new Thread(() -> {
            try {
                permits.acquire();
                got.incrementAndGet();
                hold.await();
                permits.release();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "permit-holder");
        t.setDaemon(true);
        t.start();
        return t;
    }

    /** Waits (10 s at most) until {@code value} is {@code expected}. */
    public static void waitFor(AtomicInteger value, int expected) {
        until(() -> value.get() == expected, "a count of " + expected + " (it is " + value + ")");
    }

    /** Waits (10 s at most) until {@code t} is blocked waiting, as a thread waiting for a place is. */
    public static void blocked(Thread t) {
        until(() -> t.getState() == Thread.State.WAITING, "the thread waiting (it is " + t.getState() + ")");
    }

    private static void until(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("waited 10 s for " + what);
            }
            Thread.onSpinWait();
        }
    }
}

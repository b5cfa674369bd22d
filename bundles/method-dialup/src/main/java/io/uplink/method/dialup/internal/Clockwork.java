package io.uplink.method.dialup.internal;

import java.time.Duration;
import java.time.Instant;

/**
 * The time the dialler lives by: deadlines (connect timeout), waits (redial interval, guard times) and the idle
 * hang-up timer. Tests move it by hand, so redials and timeouts are checked without sleeping.
 */
interface Clockwork {

    Instant now();

    /** Waits for the duration; gives up when the thread is interrupted. */
    void sleep(Duration duration) throws InterruptedException;

    /** Runs the task once after the delay, on another thread; the returned handle cancels it. */
    Runnable schedule(Duration delay, Runnable task);
}

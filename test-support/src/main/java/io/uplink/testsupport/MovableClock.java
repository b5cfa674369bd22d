package io.uplink.testsupport;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A UTC clock the test moves, safe to read from the threads of the code under test. Besides being a
 * {@link Clock}, it stands in for waiting: {@link #sleep} returns at once (recorded, and moving the clock), and
 * {@link #schedule} timers run, on another thread as real ones do, when the clock passes them. {@link #reads()}
 * counts how often the time was read, so a test can wait until the code under test has seen a moved clock.
 */
public final class MovableClock extends Clock implements AutoCloseable {

    private record Timer(Instant due, Runnable task, boolean[] cancelled) {
    }

    private final List<Duration> sleeps = new ArrayList<>();
    private final List<Timer> timers = new ArrayList<>();
    private Instant now;
    private long reads;
    private ExecutorService runner;

    public MovableClock(Instant start) {
        now = start;
    }

    @Override
    public synchronized Instant instant() {
        reads++;
        return now;
    }

    @Override
    public ZoneId getZone() {
        return ZoneOffset.UTC;
    }

    /** The same clock: a zone changes nothing a test moves. */
    @Override
    public Clock withZone(ZoneId zone) {
        return this;
    }

    /** Moves the clock forward; timers that fall due run. */
    public void advance(Duration d) {
        Instant target;
        synchronized (this) {
            target = now.plus(d);
        }
        set(target);
    }

    /** Sets the time; timers that fall due run. */
    public void set(Instant t) {
        List<Runnable> due = new ArrayList<>();
        ExecutorService run;
        synchronized (this) {
            now = t;
            for (Iterator<Timer> it = timers.iterator(); it.hasNext();) {
                Timer timer = it.next();
                if (timer.cancelled()[0]) {
                    it.remove();
                } else if (!timer.due().isAfter(now)) {
                    it.remove();
                    due.add(timer.task());
                }
            }
            if (!due.isEmpty() && runner == null) {
                runner = Executors.newSingleThreadExecutor(r -> {
                    Thread thread = new Thread(r, "movable-clock-timer");
                    thread.setDaemon(true);
                    return thread;
                });
            }
            run = runner;
        }
        for (Runnable task : due) {
            run.execute(task);
        }
    }

    /** A sleep that returns at once: recorded, and the clock moves by it. */
    public void sleep(Duration duration) throws InterruptedException {
        if (Thread.interrupted()) {
            throw new InterruptedException();
        }
        synchronized (this) {
            sleeps.add(duration);
        }
        advance(duration);
    }

    /** Runs the task once the clock has moved past the delay; the returned handle cancels it. */
    public synchronized Runnable schedule(Duration delay, Runnable task) {
        Timer t = new Timer(now.plus(delay), task, new boolean[1]);
        timers.add(t);
        return () -> {
            synchronized (MovableClock.this) {
                t.cancelled()[0] = true;
            }
        };
    }

    /** Every sleep asked for, in order. */
    public synchronized List<Duration> sleeps() {
        return List.copyOf(sleeps);
    }

    /** How many sleeps of exactly this duration were asked for. */
    public synchronized long sleepsOf(Duration d) {
        return sleeps.stream().filter(d::equals).count();
    }

    /** Timers set and neither run nor cancelled. */
    public synchronized long pendingTimers() {
        return timers.stream().filter(t -> !t.cancelled()[0]).count();
    }

    /** How often the time has been read so far. */
    public synchronized long reads() {
        return reads;
    }

    /** Stops the thread that runs timers, if one was started. */
    @Override
    public synchronized void close() {
        if (runner != null) {
            runner.shutdownNow();
        }
    }
}

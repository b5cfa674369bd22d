package io.uplink.method.dialup.internal;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/** A clock the test moves: sleeps return at once (and are recorded), timers run when the clock passes them. */
final class MovableClock implements Clockwork, AutoCloseable {

    private record Timer(Instant due, Runnable task, boolean[] cancelled) {
    }

    private final List<Duration> sleeps = new ArrayList<>();
    private final List<Timer> timers = new ArrayList<>();
    private final ExecutorService runner = Executors.newSingleThreadExecutor();
    private Instant now = Instant.parse("2026-01-05T09:00:00Z");

    @Override
    public synchronized Instant now() {
        return now;
    }

    @Override
    public void sleep(Duration duration) throws InterruptedException {
        if (Thread.interrupted()) {
            throw new InterruptedException();
        }
        synchronized (this) {
            sleeps.add(duration);
        }
        advance(duration);
    }

    @Override
    public synchronized Runnable schedule(Duration delay, Runnable task) {
        Timer t = new Timer(now.plus(delay), task, new boolean[1]);
        timers.add(t);
        return () -> {
            synchronized (MovableClock.this) {
                t.cancelled()[0] = true;
            }
        };
    }

    /** Moves the clock; timers that fall due run (on another thread, as the real ones do). */
    void advance(Duration d) {
        List<Runnable> due = new ArrayList<>();
        synchronized (this) {
            now = now.plus(d);
            for (Iterator<Timer> it = timers.iterator(); it.hasNext();) {
                Timer t = it.next();
                if (t.cancelled()[0]) {
                    it.remove();
                } else if (!t.due().isAfter(now)) {
                    it.remove();
                    due.add(t.task());
                }
            }
        }
        due.forEach(runner::execute);
    }

    /** Every sleep asked for, in order. */
    synchronized List<Duration> sleeps() {
        return List.copyOf(sleeps);
    }

    synchronized long sleepsOf(Duration d) {
        return sleeps.stream().filter(d::equals).count();
    }

    /** Timers set and neither run nor cancelled. */
    synchronized long pendingTimers() {
        return timers.stream().filter(t -> !t.cancelled()[0]).count();
    }

    @Override
    public void close() {
        runner.shutdownNow();
    }
}

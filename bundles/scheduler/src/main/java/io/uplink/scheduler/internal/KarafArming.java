package io.uplink.scheduler.internal;

import java.time.Clock;
import java.time.Instant;
import java.util.Date;

import org.apache.karaf.scheduler.Scheduler;
import org.apache.karaf.scheduler.SchedulerError;

/**
 * Arms one-shot jobs on the Karaf Scheduler under our own names, so {@code scheduler:list} shows
 * {@code uplink.schedule.<id>} and a job with the same name replaces the previous one.
 */
final class KarafArming implements Scheduling.Arming {

    private final Scheduler scheduler;
    private final Clock clock;

    KarafArming(Scheduler scheduler, Clock clock) {
        this.scheduler = scheduler;
        this.clock = clock;
    }

    @Override
    public void arm(String name, Instant at, Runnable job) {
        Instant now = clock.instant();
        // a catch-up slot may lie in the past: fire it now
        Date when = Date.from(at.isBefore(now) ? now : at);
        try {
            scheduler.schedule(job, scheduler.AT(when).name(name).canRunConcurrently(false));
        } catch (SchedulerError e) {
            throw new IllegalStateException("Cannot arm " + name + " on the Karaf Scheduler: " + e.getMessage(), e);
        }
    }

    @Override
    public void disarm(String name) {
        scheduler.unschedule(name);
    }
}

package io.uplink.api.schedule;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/** The schedule of connection firings. Registered by the scheduler bundle. */
public interface ScheduleService {

    /** Every schedule item, sorted by id. */
    List<ScheduleItemStatus> items();

    /** Stops all scheduled firings (manual firing still works); survives a restart. */
    void pause();

    /** Restarts scheduled firings. */
    void resume();

    /** Whether the schedule is paused. */
    boolean isPaused();

    /** The next {@code count} firings across all items, deny windows applied. */
    List<ForecastEntry> next(int count);

    /** The next scheduled firing of one connection, if any. */
    Optional<Instant> nextFiring(String connectionId);

    /**
     * Whether the schedule has the connection due now, which is when live delivery (a collector's IMAP IDLE)
     * may run over it: the schedule is not paused, no deny window covers now, and an enabled item aimed at the
     * connection (by id, or through {@code default} when it is a default connection) covers now: an
     * {@code every} item within its {@code between} window on one of its {@code days}, an {@code at} item on
     * one of its {@code days} (the whole day), a {@code cron} item always.
     *
     * @since 1.1
     */
    default boolean due(String connectionId) {
        return !isPaused() && nextFiring(connectionId).isPresent();
    }
}

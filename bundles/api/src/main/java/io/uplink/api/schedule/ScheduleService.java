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
}

package io.uplink.scheduler.internal;

import java.time.LocalDate;
import java.time.LocalDateTime;

/**
 * When an item fires, as wall-clock slots per day. {@link NextFiring} turns slots into instants in the
 * item's zone.
 */
interface Timing {

    /**
     * The first slot that belongs to {@code day} (for a window spanning midnight, slots after midnight belong to
     * the day the window opened) and is at or after {@code from}; {@code null} when there is none.
     */
    LocalDateTime firstSlot(LocalDate day, LocalDateTime from);

    /** How many days ahead a slot can be at most (to bound the search). */
    int horizonDays();

    /** In words, for {@code schedule:list}. */
    String describe();

    /**
     * Whether {@code t} lies in the span this timing covers on {@code day} (a window spanning midnight belongs to
     * the day it opened): what makes a connection "due" for live delivery (IMAP IDLE). Without a window of its
     * own (a cron expression) every instant is covered.
     */
    default boolean covers(LocalDate day, LocalDateTime t) {
        return true;
    }
}

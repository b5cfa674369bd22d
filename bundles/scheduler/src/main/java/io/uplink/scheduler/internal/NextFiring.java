package io.uplink.scheduler.internal;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.zone.ZoneOffsetTransition;

/**
 * Turns a {@link Timing}'s wall-clock slots into instants in a zone. The DST rule: every wall-clock slot fires
 * exactly once. A slot inside a spring-forward gap fires when the clocks have jumped (01:30 becomes 02:30 BST),
 * so it is not skipped; a slot inside a fall-back overlap fires at its first occurrence only, so it is not
 * doubled. Slots that land on the same instant fire once.
 */
final class NextFiring {

    /** DST shifts are at most a couple of hours; slots this close may come out of order. */
    private static final Duration MARGIN = Duration.ofHours(3);

    private NextFiring() {
    }

    /** The instant of a wall-clock slot in {@code zone}, by the rule above. */
    static Instant instant(LocalDateTime slot, ZoneId zone) {
        // ofLocal: a gap shifts forward by the gap's length, an overlap takes the earlier offset
        return ZonedDateTime.ofLocal(slot, zone, null).toInstant();
    }

    /** The first firing strictly after {@code after}, or {@code null} when the timing never fires again. */
    static Instant after(Timing timing, ZoneId zone, Instant after) {
        LocalDateTime a = LocalDateTime.ofInstant(after, zone);
        boolean nearTransition = transitionNear(zone, after);
        // near a transition, slots a little before 'a' in wall-clock time can be after 'after' in real time
        LocalDateTime from = nearTransition ? a.minus(MARGIN) : a;
        Instant best = null;
        LocalDateTime stopAt = null;
        LocalDate last = a.toLocalDate().plusDays(timing.horizonDays());
        for (LocalDate day = from.toLocalDate().minusDays(1); !day.isAfter(last); day = day.plusDays(1)) {
            if (stopAt != null && day.minusDays(1).atStartOfDay().isAfter(stopAt)) {
                break;
            }
            LocalDateTime slot = timing.firstSlot(day, from);
            while (slot != null) {
                if (stopAt != null && slot.isAfter(stopAt)) {
                    break;
                }
                Instant i = instant(slot, zone);
                if (i.isAfter(after) && (best == null || i.isBefore(best))) {
                    best = i;
                    if (!nearTransition && !transitionNear(zone, i)) {
                        return best;
                    }
                    stopAt = LocalDateTime.ofInstant(best, zone).plus(MARGIN);
                }
                slot = timing.firstSlot(day, slot.plusSeconds(1));
            }
        }
        return best;
    }

    private static boolean transitionNear(ZoneId zone, Instant t) {
        ZoneOffsetTransition next = zone.getRules().nextTransition(t.minus(Duration.ofDays(1)));
        return next != null && next.getInstant().isBefore(t.plus(Duration.ofDays(1)));
    }
}

package io.uplink.scheduler.internal;

import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/** {@code at = 07:30, 12:00} on {@code days}. */
final class AtTiming implements Timing {

    private final TreeSet<LocalTime> times;
    private final Days days;

    AtTiming(List<LocalTime> times, Days days) {
        this.times = new TreeSet<>(times);
        this.days = days;
    }

    @Override
    public LocalDateTime firstSlot(LocalDate day, LocalDateTime from) {
        if (!days.contains(day.getDayOfWeek())) {
            return null;
        }
        for (LocalTime t : times) {
            LocalDateTime slot = day.atTime(t);
            if (!slot.isBefore(from)) {
                return slot;
            }
        }
        return null;
    }

    /** An {@code at} item covers the whole of each of its days. */
    @Override
    public boolean covers(LocalDate day, LocalDateTime t) {
        return days.contains(day.getDayOfWeek()) && t.toLocalDate().equals(day);
    }

    @Override
    public int horizonDays() {
        return 8;
    }

    @Override
    public String describe() {
        List<String> out = new ArrayList<>();
        for (LocalTime t : times) {
            out.add(t.getSecond() == 0 ? String.format("%02d:%02d", t.getHour(), t.getMinute()) : t.toString());
        }
        return "at " + String.join(", ", out) + (days.all() ? "" : " on " + days);
    }
}

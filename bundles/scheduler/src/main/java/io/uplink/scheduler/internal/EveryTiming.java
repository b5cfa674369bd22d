package io.uplink.scheduler.internal;

import java.time.Duration;
import java.time.LocalDate;
import java.time.LocalDateTime;

/**
 * {@code every = 15m} within {@code between} on {@code days}: slots at the window's opening and every interval
 * after it, up to the window's closing. Slots are wall-clock times, anchored at the opening, so {@code every = 1h
 * between 08:00-18:00} fires on the hour whatever the DST offset.
 */
final class EveryTiming implements Timing {

    private final long interval;
    private final Window window;
    private final Days days;

    EveryTiming(Duration interval, Window window, Days days) {
        this.interval = interval.getSeconds();
        this.window = window;
        this.days = days;
    }

    @Override
    public LocalDateTime firstSlot(LocalDate day, LocalDateTime from) {
        if (!days.contains(day.getDayOfWeek())) {
            return null;
        }
        LocalDateTime open = window.opens(day);
        LocalDateTime slot;
        if (!from.isAfter(open)) {
            slot = open;
        } else {
            long since = Duration.between(open, from).getSeconds();
            if (Duration.between(open, from).getNano() > 0) {
                since++;
            }
            long k = (since + interval - 1) / interval;
            slot = open.plusSeconds(k * interval);
        }
        return window.contains(day, slot) ? slot : null;
    }

    @Override
    public boolean covers(LocalDate day, LocalDateTime t) {
        return days.contains(day.getDayOfWeek()) && window.contains(day, t);
    }

    @Override
    public int horizonDays() {
        return 8;
    }

    @Override
    public String describe() {
        StringBuilder b = new StringBuilder("every ").append(text(interval));
        if (!window.wholeDay()) {
            b.append(" between ").append(window);
        }
        if (!days.all()) {
            b.append(" on ").append(days);
        }
        return b.toString();
    }

    /** A duration in the words the cfg files use: {@code 1h30m}, {@code 15m}, {@code 5s}. */
    static String text(long seconds) {
        StringBuilder b = new StringBuilder();
        long h = seconds / 3600;
        long m = (seconds % 3600) / 60;
        long s = seconds % 60;
        if (h > 0) {
            b.append(h).append('h');
        }
        if (m > 0) {
            b.append(m).append('m');
        }
        if (s > 0 || b.length() == 0) {
            b.append(s).append('s');
        }
        return b.toString();
    }
}

package io.uplink.scheduler.internal;

import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;

import io.uplink.api.config.Settings;

/**
 * A daily time window such as {@code 08:00-18:00}, both ends included. A window whose end is not after its
 * start spans midnight ({@code 22:00-06:00}); it belongs to the day it starts on. {@code 24:00} is the end of
 * the day. Times are wall-clock times of the item's zone.
 */
final class Window {

    /** The whole day: from 00:00 up to, but not including, the next midnight. */
    static final Window WHOLE_DAY = new Window(0, 24 * 3600, false);

    private static final int DAY = 24 * 3600;

    private final int start;
    private final int end;
    private final boolean endIncluded;

    private Window(int start, int end, boolean endIncluded) {
        this.start = start;
        this.end = end;
        this.endIncluded = endIncluded;
    }

    static Window of(String text) {
        int dash = text.indexOf('-');
        if (dash < 0) {
            throw new IllegalArgumentException("must be a window such as 08:00-18:00, got '" + text + "'");
        }
        int start = secondOfDay(text.substring(0, dash).trim(), false);
        int end = secondOfDay(text.substring(dash + 1).trim(), true);
        if (start == end || (start == 0 && end == DAY)) {
            if (start == 0 && end == DAY) {
                return new Window(0, DAY, false);
            }
            throw new IllegalArgumentException("the window " + text.trim() + " is empty (start and end are equal)");
        }
        if (start == DAY) {
            throw new IllegalArgumentException("a window cannot start at 24:00, got '" + text + "'");
        }
        // an end not after the start spans midnight
        int e = end <= start ? end + DAY : end;
        return new Window(start, e, true);
    }

    /** Reads {@code key}; the whole day when unset. */
    static Window parse(Settings s, String key) {
        String text = s.string(key, null);
        if (text == null) {
            return WHOLE_DAY;
        }
        try {
            return of(text);
        } catch (IllegalArgumentException e) {
            throw s.problem(key, e.getMessage());
        }
    }

    /** {@code HH:MM} or {@code HH:MM:SS}, as seconds of the day; {@code 24:00} only as an end. */
    static int secondOfDay(String text, boolean asEnd) {
        String[] p = text.split(":");
        if (p.length < 2 || p.length > 3) {
            throw new IllegalArgumentException("must be a time such as 08:00, got '" + text + "'");
        }
        int h;
        int m;
        int sec = 0;
        try {
            h = Integer.parseInt(p[0].trim());
            m = Integer.parseInt(p[1].trim());
            if (p.length == 3) {
                sec = Integer.parseInt(p[2].trim());
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("must be a time such as 08:00, got '" + text + "'");
        }
        if (asEnd && h == 24 && m == 0 && sec == 0) {
            return DAY;
        }
        if (h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 59) {
            throw new IllegalArgumentException("must be a time from 00:00 to 23:59, got '" + text + "'");
        }
        return h * 3600 + m * 60 + sec;
    }

    /** When the window of {@code day} opens. */
    LocalDateTime opens(LocalDate day) {
        return day.atStartOfDay().plusSeconds(start);
    }

    /** When the window of {@code day} closes. */
    LocalDateTime closes(LocalDate day) {
        return day.atStartOfDay().plusSeconds(end);
    }

    /** Whether the window of {@code day} contains {@code t}. */
    boolean contains(LocalDate day, LocalDateTime t) {
        if (t.isBefore(opens(day))) {
            return false;
        }
        LocalDateTime c = closes(day);
        return endIncluded ? !t.isAfter(c) : t.isBefore(c);
    }

    boolean endIncluded() {
        return endIncluded;
    }

    boolean wholeDay() {
        return start == 0 && end == DAY;
    }

    @Override
    public String toString() {
        return text(start) + "-" + text(end == DAY ? DAY : end % DAY);
    }

    private static String text(int s) {
        if (s == DAY) {
            return "24:00";
        }
        LocalTime t = LocalTime.ofSecondOfDay(s);
        return t.getSecond() == 0 ? String.format("%02d:%02d", t.getHour(), t.getMinute()) : t.toString();
    }
}

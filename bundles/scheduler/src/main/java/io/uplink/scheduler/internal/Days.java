package io.uplink.scheduler.internal;

import java.time.DayOfWeek;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import io.uplink.api.config.Settings;

/** The days of the week an item runs on: {@code MON-FRI}, {@code SAT,SUN}, {@code FRI-MON}, {@code daily}. */
final class Days {

    static final Days EVERY_DAY = new Days(EnumSet.allOf(DayOfWeek.class));

    private final Set<DayOfWeek> days;

    private Days(Set<DayOfWeek> days) {
        this.days = days;
    }

    /** Reads {@code key}; every day when unset. */
    static Days parse(Settings s, String key) {
        List<String> parts = s.list(key);
        if (parts.isEmpty()) {
            return EVERY_DAY;
        }
        EnumSet<DayOfWeek> set = EnumSet.noneOf(DayOfWeek.class);
        for (String part : parts) {
            String p = part.toUpperCase(Locale.ROOT);
            if (p.equals("DAILY") || p.equals("*") || p.equals("ALL")) {
                set.addAll(EnumSet.allOf(DayOfWeek.class));
                continue;
            }
            int dash = p.indexOf('-');
            if (dash > 0) {
                DayOfWeek from = day(s, key, p.substring(0, dash));
                DayOfWeek to = day(s, key, p.substring(dash + 1));
                // a range may wrap over the week's end: FRI-MON
                for (DayOfWeek d = from;; d = d.plus(1)) {
                    set.add(d);
                    if (d == to) {
                        break;
                    }
                }
            } else {
                set.add(day(s, key, p));
            }
        }
        return new Days(set);
    }

    private static DayOfWeek day(Settings s, String key, String word) {
        String w = word.trim();
        for (DayOfWeek d : DayOfWeek.values()) {
            if (d.name().equals(w) || (w.length() >= 3 && d.name().startsWith(w))) {
                return d;
            }
        }
        throw s.problem(key, "unknown day '" + word + "'; use MON, TUE, WED, THU, FRI, SAT, SUN, ranges such as"
                + " MON-FRI, lists such as SAT,SUN, or daily");
    }

    boolean contains(DayOfWeek d) {
        return days.contains(d);
    }

    boolean all() {
        return days.size() == 7;
    }

    @Override
    public String toString() {
        if (all()) {
            return "daily";
        }
        // runs of three or more days read as ranges: MON-FRI, SAT,SUN
        List<String> out = new ArrayList<>();
        DayOfWeek[] week = DayOfWeek.values();
        for (int i = 0; i < week.length; i++) {
            if (!days.contains(week[i])) {
                continue;
            }
            int j = i;
            while (j + 1 < week.length && days.contains(week[j + 1])) {
                j++;
            }
            if (j - i >= 2) {
                out.add(name(week[i]) + "-" + name(week[j]));
            } else {
                for (int k = i; k <= j; k++) {
                    out.add(name(week[k]));
                }
            }
            i = j;
        }
        return String.join(",", out);
    }

    private static String name(DayOfWeek d) {
        return d.getDisplayName(TextStyle.SHORT, Locale.ENGLISH).toUpperCase(Locale.ROOT);
    }
}

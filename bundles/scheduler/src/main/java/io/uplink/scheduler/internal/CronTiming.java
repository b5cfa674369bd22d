package io.uplink.scheduler.internal;

import java.time.DayOfWeek;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.util.BitSet;
import java.util.List;
import java.util.Locale;

/**
 * A Quartz cron expression ({@code sec min hour day-of-month month day-of-week [year]}), evaluated here so the
 * item's time zone and the DST rule of {@link NextFiring} apply to it as to every other item. Supports what
 * Quartz supports: {@code * ? , - /}, month and day names, {@code L} and {@code L-n} and {@code nW} and
 * {@code LW} in day-of-month, {@code nL} and {@code n#k} in day-of-week (1 = SUN ... 7 = SAT).
 */
final class CronTiming implements Timing {

    private static final List<String> MONTHS = List.of("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG",
            "SEP", "OCT", "NOV", "DEC");
    private static final List<String> DAYS = List.of("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT");

    private final String text;
    private final BitSet seconds;
    private final BitSet minutes;
    private final BitSet hours;
    private final BitSet months;
    private final BitSet years;
    /** Day-of-month rules; all unset when day-of-month is {@code ?}. */
    private final boolean domGiven;
    private final BitSet dom;
    private int lastDayOffset = -1;
    private int nearestWeekdayTo = -1;
    private boolean lastWeekday;
    /** Day-of-week rules (1 = SUN). */
    private final BitSet dow;
    private int lastOfMonthDow = -1;
    private int nthDow = -1;
    private int nth = -1;

    /** @throws IllegalArgumentException saying what is wrong */
    CronTiming(String expression) {
        this.text = expression.trim();
        String[] f = text.toUpperCase(Locale.ROOT).split("\\s+");
        if (f.length < 6 || f.length > 7) {
            throw new IllegalArgumentException("a Quartz cron expression has 6 or 7 fields (sec min hour"
                    + " day-of-month month day-of-week [year]), got " + f.length + " in '" + text + "'");
        }
        seconds = field(f[0], "seconds", 0, 59, null);
        minutes = field(f[1], "minutes", 0, 59, null);
        hours = field(f[2], "hours", 0, 23, null);
        months = field(f[4], "month", 1, 12, MONTHS);
        years = f.length == 7 ? field(f[6], "year", 1970, 2199, null) : null;
        boolean domAny = f[3].equals("?");
        boolean dowAny = f[5].equals("?");
        if (domAny == dowAny) {
            throw new IllegalArgumentException("exactly one of day-of-month and day-of-week must be '?' (Quartz"
                    + " does not support both), in '" + text + "'");
        }
        domGiven = !domAny;
        dom = domGiven ? dayOfMonth(f[3]) : new BitSet();
        dow = domGiven ? new BitSet() : dayOfWeek(f[5]);
    }

    private BitSet dayOfMonth(String f) {
        if (f.equals("L")) {
            lastDayOffset = 0;
            return new BitSet();
        }
        if (f.startsWith("L-")) {
            lastDayOffset = number(f.substring(2), "day-of-month", 0, 30, null);
            return new BitSet();
        }
        if (f.equals("LW")) {
            lastWeekday = true;
            return new BitSet();
        }
        if (f.endsWith("W")) {
            nearestWeekdayTo = number(f.substring(0, f.length() - 1), "day-of-month", 1, 31, null);
            return new BitSet();
        }
        return field(f, "day-of-month", 1, 31, null);
    }

    private BitSet dayOfWeek(String f) {
        if (f.equals("L")) {
            return field("7", "day-of-week", 1, 7, DAYS);
        }
        if (f.endsWith("L")) {
            lastOfMonthDow = number(f.substring(0, f.length() - 1), "day-of-week", 1, 7, DAYS);
            return new BitSet();
        }
        int hash = f.indexOf('#');
        if (hash > 0) {
            nthDow = number(f.substring(0, hash), "day-of-week", 1, 7, DAYS);
            nth = number(f.substring(hash + 1), "day-of-week", 1, 5, null);
            return new BitSet();
        }
        return field(f, "day-of-week", 1, 7, DAYS);
    }

    private BitSet field(String f, String name, int min, int max, List<String> names) {
        BitSet set = new BitSet();
        for (String part : f.split(",")) {
            if (part.isEmpty()) {
                throw new IllegalArgumentException("empty list element in the " + name + " field of '" + text + "'");
            }
            int step = 1;
            String range = part;
            int slash = part.indexOf('/');
            if (slash >= 0) {
                step = number(part.substring(slash + 1), name, 1, max - min + 1, null);
                range = part.substring(0, slash);
            }
            int from;
            int to;
            if (range.equals("*") || range.equals("?")) {
                from = min;
                to = max;
            } else {
                int dash = range.indexOf('-');
                if (dash > 0) {
                    from = number(range.substring(0, dash), name, min, max, names);
                    to = number(range.substring(dash + 1), name, min, max, names);
                } else {
                    from = number(range, name, min, max, names);
                    to = slash >= 0 ? max : from;
                }
            }
            // a range may wrap (22-2 in hours, FRI-MON in days)
            int span = to >= from ? to - from : (max - from + 1) + (to - min);
            for (int i = 0; i <= span; i += step) {
                int v = from + i;
                if (v > max) {
                    v = v - max - 1 + min;
                }
                set.set(v);
            }
        }
        return set;
    }

    private int number(String s, String name, int min, int max, List<String> names) {
        if (names != null) {
            int i = names.indexOf(s);
            if (i >= 0) {
                return i + min;
            }
        }
        int v;
        try {
            v = Integer.parseInt(s);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + s + "' is not a valid value in the " + name + " field of '"
                    + text + "'");
        }
        if (v < min || v > max) {
            throw new IllegalArgumentException(name + " value " + v + " is outside " + min + "-" + max + " in '"
                    + text + "'");
        }
        return v;
    }

    boolean matches(LocalDate d) {
        if (!months.get(d.getMonthValue()) || (years != null && !years.get(d.getYear()))) {
            return false;
        }
        int day = d.getDayOfMonth();
        int length = d.lengthOfMonth();
        if (domGiven) {
            if (lastDayOffset >= 0) {
                return day == length - lastDayOffset;
            }
            if (lastWeekday) {
                return d.equals(nearestWeekday(d.withDayOfMonth(length)));
            }
            if (nearestWeekdayTo > 0) {
                return nearestWeekdayTo <= length && d.equals(nearestWeekday(d.withDayOfMonth(nearestWeekdayTo)));
            }
            return dom.get(day);
        }
        int q = d.getDayOfWeek().getValue() % 7 + 1; // Quartz: 1 = SUN
        if (lastOfMonthDow > 0) {
            return q == lastOfMonthDow && day + 7 > length;
        }
        if (nthDow > 0) {
            return q == nthDow && (day - 1) / 7 + 1 == nth;
        }
        return dow.get(q);
    }

    /** The weekday nearest to {@code d} within its month (Quartz's W). */
    private static LocalDate nearestWeekday(LocalDate d) {
        DayOfWeek w = d.getDayOfWeek();
        if (w == DayOfWeek.SATURDAY) {
            return d.getDayOfMonth() == 1 ? d.plusDays(2) : d.minusDays(1);
        }
        if (w == DayOfWeek.SUNDAY) {
            return d.getDayOfMonth() == d.lengthOfMonth() ? d.minusDays(2) : d.plusDays(1);
        }
        return d;
    }

    @Override
    public LocalDateTime firstSlot(LocalDate day, LocalDateTime from) {
        if (!matches(day)) {
            return null;
        }
        LocalTime t0;
        if (from.toLocalDate().isBefore(day)) {
            t0 = LocalTime.MIDNIGHT;
        } else if (from.toLocalDate().equals(day)) {
            LocalDateTime f = from.getNano() > 0 ? from.withNano(0).plusSeconds(1) : from;
            if (!f.toLocalDate().equals(day)) {
                return null;
            }
            t0 = f.toLocalTime();
        } else {
            return null;
        }
        for (int h = hours.nextSetBit(t0.getHour()); h >= 0; h = hours.nextSetBit(h + 1)) {
            int mFrom = h == t0.getHour() ? t0.getMinute() : 0;
            for (int m = minutes.nextSetBit(mFrom); m >= 0; m = minutes.nextSetBit(m + 1)) {
                int sFrom = h == t0.getHour() && m == t0.getMinute() ? t0.getSecond() : 0;
                int s = seconds.nextSetBit(sFrom);
                if (s >= 0) {
                    return day.atTime(h, m, s);
                }
            }
        }
        return null;
    }

    @Override
    public int horizonDays() {
        // Feb 29 on a given weekday can be 28 years away; a year field may end sooner
        return 366 * 29;
    }

    @Override
    public String describe() {
        return "cron " + text;
    }
}

package io.uplink.scheduler.internal;

import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import io.uplink.api.config.ConfigException;
import io.uplink.api.config.Settings;

/**
 * One schedule item, parsed and checked ({@code etc/io.uplink.schedule-<id>.cfg}).
 *
 * <p>{@code connections} = {@code default}, connection ids (both may be mixed), or {@code deny}. A firing item
 * has exactly one of {@code every} (with optional {@code between} and {@code days}), {@code at} (with optional
 * {@code days}) or {@code cron}. A deny item has a {@code between} window and/or {@code days}.
 */
final class ScheduleItem {

    static final String FACTORY_PID = "io.uplink.schedule";
    static final String KIND = "schedule";

    static final String CONNECTIONS = "connections";
    static final String EVERY = "every";
    static final String BETWEEN = "between";
    static final String DAYS = "days";
    static final String AT = "at";
    static final String CRON = "cron";
    static final String TIMEZONE = "timezone";
    static final String MIN_WAITING = "minWaiting";
    static final String ENABLED = "enabled";

    static final String DEFAULT = "default";
    static final String DENY = "deny";

    private final String id;
    private final String file;
    private final boolean deny;
    private final boolean defaults;
    private final List<String> connectionIds;
    private final List<String> connectionsAsWritten;
    private final Timing timing;
    private final Window denyWindow;
    private final Days denyDays;
    private final ZoneId zone;
    private final boolean zoneGiven;
    private final int minWaiting;
    private final boolean enabled;

    private ScheduleItem(Builder b) {
        this.id = b.id;
        this.file = b.file;
        this.deny = b.deny;
        this.defaults = b.defaults;
        this.connectionIds = List.copyOf(b.ids);
        this.connectionsAsWritten = List.copyOf(b.written);
        this.timing = b.timing;
        this.denyWindow = b.denyWindow;
        this.denyDays = b.denyDays;
        this.zone = b.zone;
        this.zoneGiven = b.zoneGiven;
        this.minWaiting = b.minWaiting;
        this.enabled = b.enabled;
    }

    private static final class Builder {
        String id;
        String file;
        boolean deny;
        boolean defaults;
        Set<String> ids = new LinkedHashSet<>();
        List<String> written = new ArrayList<>();
        Timing timing;
        Window denyWindow;
        Days denyDays;
        ZoneId zone;
        boolean zoneGiven;
        int minWaiting;
        boolean enabled;
    }

    /**
     * Reads an item.
     *
     * @param systemZone the zone when {@code timezone} is unset
     * @throws ConfigException naming the item, the file and the key
     */
    static ScheduleItem parse(Settings s, ZoneId systemZone) {
        Builder b = new Builder();
        b.id = s.id();
        b.file = s.file();
        b.enabled = s.bool(ENABLED, true);
        b.minWaiting = s.integer(MIN_WAITING, 0, 0, 1_000_000);
        String tz = s.string(TIMEZONE, null);
        try {
            b.zone = tz == null ? systemZone : ZoneId.of(tz);
            b.zoneGiven = tz != null;
        } catch (DateTimeException e) {
            throw s.problem(TIMEZONE, "unknown time zone '" + tz + "'; use a region such as Europe/London");
        }

        List<String> targets = s.list(CONNECTIONS);
        if (targets.isEmpty()) {
            throw s.problem(CONNECTIONS, "is required: 'default', 'deny', or connection ids");
        }
        for (String t : targets) {
            String w = t.toLowerCase(Locale.ROOT);
            b.written.add(t);
            if (w.equals(DENY)) {
                b.deny = true;
            } else if (w.equals(DEFAULT) || w.equals("defaults")) {
                b.defaults = true;
            } else {
                b.ids.add(t);
            }
        }
        if (b.deny && targets.size() > 1) {
            throw s.problem(CONNECTIONS, "'deny' blocks every connection and cannot be combined with others");
        }

        if (b.deny) {
            for (String k : List.of(EVERY, AT, CRON, MIN_WAITING)) {
                if (s.has(k)) {
                    throw s.problem(k, "a deny item has only a 'between' window and/or 'days'");
                }
            }
            if (!s.has(BETWEEN) && !s.has(DAYS)) {
                throw s.problem(BETWEEN, "a deny item needs a 'between' window (such as 12:00-14:00) and/or 'days'");
            }
            b.denyWindow = Window.parse(s, BETWEEN);
            b.denyDays = Days.parse(s, DAYS);
            return new ScheduleItem(b);
        }

        int kinds = (s.has(EVERY) ? 1 : 0) + (s.has(AT) ? 1 : 0) + (s.has(CRON) ? 1 : 0);
        if (kinds == 0) {
            throw s.problem(EVERY, "say when: 'every' (with 'between' and 'days'), 'at' (with 'days') or 'cron'");
        }
        if (kinds > 1) {
            throw s.problem(s.has(CRON) ? CRON : AT, "use only one of 'every', 'at' and 'cron'");
        }
        if (s.has(EVERY)) {
            Duration every = s.duration(EVERY, null);
            if (every.getSeconds() < 1 || every.getNano() != 0) {
                throw s.problem(EVERY, "must be whole seconds, at least 1s, got '" + s.string(EVERY, "") + "'");
            }
            if (every.compareTo(Duration.ofHours(24)) > 0) {
                throw s.problem(EVERY, "must be at most 24h; use 'days' or 'cron' for less often");
            }
            b.timing = new EveryTiming(every, Window.parse(s, BETWEEN), Days.parse(s, DAYS));
        } else if (s.has(AT)) {
            if (s.has(BETWEEN)) {
                throw s.problem(BETWEEN, "goes with 'every', not with 'at'");
            }
            List<LocalTime> times = new ArrayList<>();
            for (String t : s.list(AT)) {
                try {
                    times.add(LocalTime.ofSecondOfDay(Window.secondOfDay(t, false)));
                } catch (IllegalArgumentException e) {
                    throw s.problem(AT, e.getMessage());
                }
            }
            b.timing = new AtTiming(times, Days.parse(s, DAYS));
        } else {
            for (String k : List.of(BETWEEN, DAYS)) {
                if (s.has(k)) {
                    throw s.problem(k, "does not go with 'cron'; put the days and hours into the cron expression");
                }
            }
            try {
                b.timing = new CronTiming(s.string(CRON, ""));
            } catch (IllegalArgumentException e) {
                throw s.problem(CRON, e.getMessage());
            }
        }
        ScheduleItem item = new ScheduleItem(b);
        if (item.nextAfter(Instant.now()) == null) {
            throw s.problem(s.has(CRON) ? CRON : DAYS, "never fires");
        }
        return item;
    }

    String id() {
        return id;
    }

    String file() {
        return file;
    }

    boolean isDeny() {
        return deny;
    }

    boolean fireDefaults() {
        return defaults;
    }

    /** The connection ids named explicitly (without {@code default}). */
    List<String> connectionIds() {
        return connectionIds;
    }

    /** {@code connections} as written, for display. */
    List<String> connections() {
        return connectionsAsWritten;
    }

    int minWaiting() {
        return minWaiting;
    }

    boolean enabled() {
        return enabled;
    }

    /** The first slot strictly after {@code after}, deny windows not applied; {@code null} for a deny item. */
    Instant nextAfter(Instant after) {
        return deny ? null : NextFiring.after(timing, zone, after);
    }

    /**
     * For a firing item: whether {@code t} lies in its window on one of its days ({@code every}: the
     * {@code between} window, {@code at}: the whole day, {@code cron}: always). False for a deny item.
     */
    boolean within(Instant t) {
        if (deny) {
            return false;
        }
        LocalDateTime local = LocalDateTime.ofInstant(t, zone);
        for (LocalDate day = local.toLocalDate().minusDays(1); !day.isAfter(local.toLocalDate()); day = day.plusDays(1)) {
            if (timing.covers(day, local)) {
                return true;
            }
        }
        return false;
    }

    /** For a deny item: whether its window covers {@code t}. */
    boolean covers(Instant t) {
        if (!deny) {
            return false;
        }
        LocalDateTime local = LocalDateTime.ofInstant(t, zone);
        for (LocalDate day = local.toLocalDate().minusDays(1); !day.isAfter(local.toLocalDate()); day = day.plusDays(1)) {
            if (denyDays.contains(day.getDayOfWeek()) && denyWindow.contains(day, local)) {
                return true;
            }
        }
        return false;
    }

    /** For a deny item covering {@code t}: when that window closes (the last denied instant). */
    Instant coverEnds(Instant t) {
        LocalDateTime local = LocalDateTime.ofInstant(t, zone);
        Instant end = null;
        for (LocalDate day = local.toLocalDate().minusDays(1); !day.isAfter(local.toLocalDate()); day = day.plusDays(1)) {
            if (denyDays.contains(day.getDayOfWeek()) && denyWindow.contains(day, local)) {
                Instant e = NextFiring.instant(denyWindow.closes(day), zone);
                if (!denyWindow.endIncluded()) {
                    e = e.minusNanos(1);
                }
                if (end == null || e.isAfter(end)) {
                    end = e;
                }
            }
        }
        return end;
    }

    /** The timing in words. */
    String when() {
        if (deny) {
            StringBuilder b = new StringBuilder("deny");
            if (!denyWindow.wholeDay()) {
                b.append(" between ").append(denyWindow);
            }
            if (!denyDays.all()) {
                b.append(" on ").append(denyDays);
            }
            return b.append(zoneGiven ? " (" + zone + ")" : "").toString();
        }
        return timing.describe() + (zoneGiven ? " (" + zone + ")" : "");
    }

    @Override
    public String toString() {
        return "schedule '" + id + "' " + connectionsAsWritten + " " + when();
    }
}

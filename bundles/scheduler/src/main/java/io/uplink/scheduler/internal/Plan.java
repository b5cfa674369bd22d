package io.uplink.scheduler.internal;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.PriorityQueue;
import java.util.Set;

import io.uplink.api.schedule.ForecastEntry;

/**
 * The pure calculation over a set of items: deny windows, the next firing of an item or of a connection, and
 * the forecast. Holds no clock; callers say "after when".
 */
final class Plan {

    /** Enough to cross any run of adjacent deny windows; beyond that the item counts as never firing. */
    private static final int MAX_DENIED_STEPS = 10_000;

    private final List<ScheduleItem> firing = new ArrayList<>();
    private final List<ScheduleItem> deny = new ArrayList<>();

    /**
     * @param items the usable items: parsed, enabled; deny items among them
     */
    Plan(Collection<ScheduleItem> items) {
        for (ScheduleItem i : items) {
            (i.isDeny() ? deny : firing).add(i);
        }
    }

    /** The deny item whose window covers {@code t}, or {@code null}. */
    ScheduleItem deniedBy(Instant t) {
        for (ScheduleItem d : deny) {
            if (d.covers(t)) {
                return d;
            }
        }
        return null;
    }

    /** The first firing of {@code item} strictly after {@code after} that no deny window blocks. */
    Instant next(ScheduleItem item, Instant after) {
        Instant t = item.nextAfter(after);
        for (int step = 0; t != null && step < MAX_DENIED_STEPS; step++) {
            Instant until = null;
            for (ScheduleItem d : deny) {
                if (d.covers(t)) {
                    Instant e = d.coverEnds(t);
                    if (until == null || e.isAfter(until)) {
                        until = e;
                    }
                }
            }
            if (until == null) {
                return t;
            }
            t = item.nextAfter(until.isAfter(t) ? until : t);
        }
        return null;
    }

    /** The connections {@code item} fires: the defaults (when it says so) first, then the ids it names. */
    static List<String> targets(ScheduleItem item, List<String> defaults) {
        Set<String> out = new LinkedHashSet<>();
        if (item.fireDefaults()) {
            out.addAll(defaults);
        }
        out.addAll(item.connectionIds());
        return new ArrayList<>(out);
    }

    /**
     * Whether the connection is due at {@code t}: no deny window covers it and an item aimed at the connection
     * (by id, or through {@code default}) has {@code t} in its window on one of its days.
     */
    boolean due(String connectionId, boolean isDefault, Instant t) {
        if (deniedBy(t) != null) {
            return false;
        }
        for (ScheduleItem i : firing) {
            if ((i.connectionIds().contains(connectionId) || (isDefault && i.fireDefaults())) && i.within(t)) {
                return true;
            }
        }
        return false;
    }

    /** The next scheduled firing of a connection strictly after {@code after}, or {@code null}. */
    Instant nextOf(String connectionId, boolean isDefault, Instant after) {
        Instant best = null;
        for (ScheduleItem i : firing) {
            if (i.connectionIds().contains(connectionId) || (isDefault && i.fireDefaults())) {
                Instant t = next(i, after);
                if (t != null && (best == null || t.isBefore(best))) {
                    best = t;
                }
            }
        }
        return best;
    }

    /**
     * The next {@code count} firings strictly after {@code after}, deny windows applied. Items firing the same
     * connection at the same instant make one firing: a later entry at that instant lists only the
     * connections not fired yet, and disappears when none is left.
     */
    List<ForecastEntry> forecast(Instant after, int count, List<String> defaults) {
        record Pending(Instant time, ScheduleItem item) {
        }
        PriorityQueue<Pending> queue = new PriorityQueue<>((a, b) -> {
            int c = a.time().compareTo(b.time());
            return c != 0 ? c : a.item().id().compareTo(b.item().id());
        });
        for (ScheduleItem i : firing) {
            Instant t = next(i, after);
            if (t != null) {
                queue.add(new Pending(t, i));
            }
        }
        List<ForecastEntry> out = new ArrayList<>();
        Instant current = null;
        Set<String> firedAtCurrent = new HashSet<>();
        // bounded: an item whose targets are always covered by another must not loop forever
        for (int guard = 0; out.size() < count && !queue.isEmpty() && guard < count * 100 + 1000; guard++) {
            Pending p = queue.poll();
            if (!p.time().equals(current)) {
                current = p.time();
                firedAtCurrent.clear();
            }
            List<String> targets = new ArrayList<>(targets(p.item(), defaults));
            targets.removeAll(firedAtCurrent);
            if (!targets.isEmpty()) {
                firedAtCurrent.addAll(targets);
                out.add(new ForecastEntry(p.time(), p.item().id(), targets));
            }
            Instant t = next(p.item(), p.time());
            if (t != null) {
                queue.add(new Pending(t, p.item()));
            }
        }
        return out;
    }
}

package io.uplink.scheduler.internal;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.uplink.api.ConnectionService;
import io.uplink.api.ConnectionStatus;
import io.uplink.api.NoSuchConnectionException;
import io.uplink.api.config.ConfigException;
import io.uplink.api.config.Settings;
import io.uplink.api.mail.Outbox;
import io.uplink.api.schedule.ForecastEntry;
import io.uplink.api.schedule.ScheduleItemStatus;
import io.uplink.api.schedule.ScheduleService;

/**
 * The schedule at work: keeps the items, arms each firing item as a one-shot job at its next firing (named
 * {@code uplink.schedule.<id>}), and when a job runs, fires every item due at that instant as one: each
 * connection once, the defaults through {@link ConnectionService#fireDefaults} (one after the other), unless the
 * schedule is paused or a deny window covers the instant. Then it arms the items again.
 */
final class Scheduling implements ScheduleService {

    private static final Logger LOG = LoggerFactory.getLogger(Scheduling.class);

    static final String JOB_PREFIX = "uplink.schedule.";
    /** Items that missed a firing while Karaf was down fire together, this long after the start. */
    static final Duration CATCH_UP_DELAY = Duration.ofSeconds(3);
    /** How long the record of a handled instant is kept to keep late jobs from firing it twice. */
    private static final Duration LEDGER_KEEP = Duration.ofMinutes(10);

    static final String ACTIVE = "ACTIVE";
    static final String DISABLED = "DISABLED";
    static final String PAUSED = "PAUSED";
    static final String ERROR = "ERROR";
    /** Every key of a schedule item, from its metatype. */
    private static final Set<String> KEYS = Settings.keysOf(ScheduleItemComponent.Config.class);
    static final String WAITING = "WAITING";

    /** Arms and disarms one-shot jobs; the Karaf Scheduler in the container, a test double in unit tests. */
    interface Arming {
        void arm(String name, Instant at, Runnable job);

        void disarm(String name);
    }

    private static final class Entry {
        final String id;
        final String file;
        final List<String> connections;
        final ScheduleItem item;
        final String error;
        /** Unknown keys, each with the nearest known one. */
        List<String> warnings = List.of();
        Instant armedFor;
        long generation;
        boolean catchUp;

        Entry(String id, String file, List<String> connections, ScheduleItem item, String error) {
            this.id = id;
            this.file = file;
            this.connections = connections;
            this.item = item;
            this.error = error;
        }
    }

    private final ConnectionService connections;
    private final Arming arming;
    private final Clock clock;
    private final ZoneId systemZone;
    private final ScheduleState state;
    private final Executor dispatch;
    private final Supplier<Outbox> outbox;
    private final Instant started;

    private final Map<String, Entry> entries = new TreeMap<>();
    private final Set<String> seen = new HashSet<>();
    private final Map<Instant, Set<String>> handledItems = new HashMap<>();
    private final Map<Instant, Set<String>> firedConnections = new HashMap<>();
    private long generation;

    /**
     * @param dispatch where jobs run their firing (one thread in the container, so firings never interleave)
     */
    Scheduling(ConnectionService connections, Arming arming, Clock clock, ZoneId systemZone, ScheduleState state,
            Executor dispatch, Supplier<Outbox> outbox) {
        this.connections = connections;
        this.arming = arming;
        this.clock = clock;
        this.systemZone = systemZone;
        this.state = state;
        this.dispatch = dispatch;
        this.outbox = outbox;
        this.started = clock.instant().truncatedTo(ChronoUnit.MILLIS);
    }

    // ---- items come and go ----

    /** Adds or replaces an item from its configuration and arms it at once. A bad one gets ERROR. */
    synchronized void put(Settings s) {
        String id = s.id();
        ScheduleItem item = null;
        String error = null;
        try {
            item = ScheduleItem.parse(s, systemZone);
        } catch (ConfigException e) {
            error = e.getMessage();
        } catch (RuntimeException e) {
            // a value no check foresaw: still ERROR with the item and the file
            error = s.problem(null, "cannot be used: " + e).getMessage();
        }
        if (error != null) {
            LOG.error("{}; the item does not fire until the file is fixed", error);
        }
        List<String> warnings = s.unknownKeys(KEYS);
        for (String w : warnings) {
            LOG.warn("{}: {}", s.item(), w);
        }
        Entry old = entries.remove(id);
        if (old != null) {
            disarm(old);
        }
        Entry e = new Entry(id, s.file(), s.list(ScheduleItem.CONNECTIONS), item, error);
        e.warnings = warnings;
        entries.put(id, e);
        Instant now = clock.instant();
        boolean first = seen.add(id);
        if (item != null && first && !item.isDeny() && armable(e)) {
            e.catchUp = missedWhileDown(item, now);
        }
        if (item != null) {
            state.since(id, now);
        }
        if (item != null && item.isDeny() || old != null && old.item != null && old.item.isDeny()) {
            rearmAll(now);
        } else if (e.catchUp) {
            arm(e, started.plus(CATCH_UP_DELAY));
        } else {
            armNext(e, now);
        }
        if (item != null) {
            LOG.info("schedule '{}' ({}): {} {}{}; next firing {}", id, e.file, item.connections(), item.when(),
                    item.enabled() ? "" : " (disabled)", e.armedFor == null ? "none" : e.armedFor);
        }
    }

    /**
     * Removes an item and unschedules it.
     *
     * @param deleted whether its configuration was deleted (then its last firing is forgotten too)
     */
    synchronized void remove(String id, boolean deleted) {
        Entry e = entries.remove(id);
        if (e != null) {
            disarm(e);
            if (e.item != null && e.item.isDeny()) {
                rearmAll(clock.instant());
            }
        }
        if (deleted) {
            seen.remove(id);
            state.forget(id);
            LOG.info("schedule '{}' removed", id);
        }
    }

    /** The outbox came or went: items with minWaiting can or cannot fire now. */
    synchronized void outboxChanged() {
        rearmAll(clock.instant());
    }

    /** Unschedules every job (the bundle stops). */
    synchronized void stop() {
        for (Entry e : entries.values()) {
            disarm(e);
        }
    }

    private boolean missedWhileDown(ScheduleItem item, Instant now) {
        Instant last = state.lastFiring(item.id());
        Instant since = state.since(item.id());
        Instant ref = last == null ? since : since == null || last.isAfter(since) ? last : since;
        if (ref == null || state.paused()) {
            return false;
        }
        Instant missed = plan().next(item, ref);
        if (missed != null && !missed.isAfter(now)) {
            LOG.info("schedule '{}' missed its firing at {} while the schedule was not running; firing once now",
                    item.id(), missed);
            return true;
        }
        return false;
    }

    // ---- arming ----

    private boolean armable(Entry e) {
        return e.item != null && !e.item.isDeny() && e.item.enabled() && !state.paused() && !waitingForOutbox(e);
    }

    private boolean waitingForOutbox(Entry e) {
        return e.item != null && e.item.minWaiting() > 0 && outbox.get() == null;
    }

    private void armNext(Entry e, Instant after) {
        disarm(e);
        if (armable(e)) {
            arm(e, plan().next(e.item, after));
        }
    }

    private void rearmAll(Instant now) {
        for (Entry e : entries.values()) {
            if (e.catchUp && armable(e)) {
                continue;
            }
            armNext(e, now);
        }
    }

    private void arm(Entry e, Instant t) {
        e.armedFor = t;
        if (t == null) {
            return;
        }
        long g = ++generation;
        e.generation = g;
        String id = e.id;
        arming.arm(JOB_PREFIX + id, t, () -> dispatch.execute(() -> due(id, t, g)));
    }

    private void disarm(Entry e) {
        if (e.armedFor != null) {
            e.armedFor = null;
            e.generation = ++generation;
            arming.disarm(JOB_PREFIX + e.id);
        }
    }

    // ---- firing ----

    /** A job ran: fire everything due at {@code slot}, once, then arm the items again. */
    synchronized void due(String id, Instant slot, long gen) {
        Entry mine = entries.get(id);
        if (mine == null || mine.generation != gen) {
            return; // re-armed or removed since
        }
        Set<String> handled = handledItems.computeIfAbsent(slot, k -> new HashSet<>());
        List<Entry> due = new ArrayList<>();
        for (Entry e : entries.values()) {
            if (slot.equals(e.armedFor) && handled.add(e.id)) {
                due.add(e);
            }
        }
        Instant now = clock.instant();
        try {
            fire(slot, due);
        } finally {
            Instant after = now.isAfter(slot) ? now : slot;
            for (Entry e : due) {
                e.catchUp = false;
                armNext(e, after);
            }
            prune(now);
        }
    }

    private void fire(Instant slot, List<Entry> due) {
        if (due.isEmpty() || state.paused()) {
            return;
        }
        Plan plan = plan();
        ScheduleItem deny = plan.deniedBy(slot);
        if (deny != null) {
            LOG.info("Firing of schedule {} at {} blocked by deny item '{}' ({})", ids(due), slot, deny.id(),
                    deny.when());
            return;
        }
        List<ScheduleItem> go = new ArrayList<>();
        for (Entry e : due) {
            int min = e.item.minWaiting();
            if (min > 0) {
                Outbox o = outbox.get();
                if (o == null) {
                    LOG.warn("schedule '{}' ({}): minWaiting = {} needs the outgoing queue, which is not installed;"
                            + " not firing", e.id, e.file, min);
                    continue;
                }
                int waiting = o.size();
                if (waiting < min) {
                    LOG.debug("schedule '{}': {} message(s) waiting, fewer than minWaiting = {}", e.id, waiting, min);
                    continue;
                }
            }
            go.add(e.item);
        }
        for (ScheduleItem i : go) {
            state.lastFiring(i.id(), slot);
        }
        fireOnce(slot, go);
    }

    /** Fires the items' connections, each connection once per instant however many items name it. */
    private void fireOnce(Instant slot, List<ScheduleItem> items) {
        Set<String> fired = firedConnections.computeIfAbsent(slot, k -> new HashSet<>());
        ScheduleItem byDefault = null;
        for (ScheduleItem i : items) {
            if (i.fireDefaults()) {
                byDefault = i;
                break;
            }
        }
        if (byDefault != null) {
            List<String> defaults = defaults();
            List<String> remaining = new ArrayList<>(defaults);
            remaining.removeAll(fired);
            String cause = "schedule:" + byDefault.id();
            if (defaults.isEmpty()) {
                LOG.warn("schedule '{}' ({}) fires the default connections, but no connection is marked default = true",
                        byDefault.id(), byDefault.file());
            } else if (remaining.size() == defaults.size()) {
                LOG.info("schedule '{}' fires the default connections {}", byDefault.id(), defaults);
                connections.fireDefaults(cause, slot);
            } else if (!remaining.isEmpty()) {
                LOG.info("schedule '{}' fires the default connections {} (the others already fired)", byDefault.id(),
                        remaining);
                fireInTurn(remaining, cause, slot);
            }
            fired.addAll(defaults);
        }
        for (ScheduleItem i : items) {
            for (String c : i.connectionIds()) {
                if (fired.add(c)) {
                    fireOne(i, c, slot);
                }
            }
        }
    }

    /** Fires one connection; the slot lets a cluster fire it once however many nodes' schedulers ask. */
    private void fireOne(ScheduleItem item, String connection, Instant slot) {
        try {
            LOG.info("schedule '{}' fires connection '{}'", item.id(), connection);
            connections.fire(connection, "schedule:" + item.id(), slot);
        } catch (NoSuchConnectionException e) {
            LOG.warn("schedule '{}' ({}), key 'connections': connection '{}' is not configured", item.id(),
                    item.file(), connection);
        } catch (RuntimeException e) {
            LOG.warn("schedule '{}' could not fire connection '{}': {}", item.id(), connection, e.toString());
        }
    }

    /** Fires connections one after the other, as the defaults are fired. */
    private void fireInTurn(List<String> ids, String cause, Instant slot) {
        if (ids.isEmpty()) {
            return;
        }
        List<String> rest = ids.subList(1, ids.size());
        try {
            connections.fire(ids.get(0), cause, slot).result().whenComplete((r, t) -> fireInTurn(rest, cause, slot));
        } catch (RuntimeException e) {
            LOG.warn("{} could not fire connection '{}': {}", cause, ids.get(0), e.toString());
            fireInTurn(rest, cause, slot);
        }
    }

    private void prune(Instant now) {
        Instant cut = now.minus(LEDGER_KEEP);
        for (Iterator<Instant> it = handledItems.keySet().iterator(); it.hasNext();) {
            if (it.next().isBefore(cut)) {
                it.remove();
            }
        }
        firedConnections.keySet().removeIf(t -> t.isBefore(cut));
    }

    private static List<String> ids(List<Entry> due) {
        List<String> out = new ArrayList<>();
        for (Entry e : due) {
            out.add("'" + e.id + "'");
        }
        return out;
    }

    // ---- what the schedule knows ----

    /** The items that can fire now (parsed, enabled, not waiting for the outbox), deny items included. */
    private Plan plan() {
        List<ScheduleItem> usable = new ArrayList<>();
        for (Entry e : entries.values()) {
            if (e.item != null && e.item.enabled() && !waitingForOutbox(e)) {
                usable.add(e.item);
            }
        }
        return new Plan(usable);
    }

    /** The default connections in the order they fire. */
    List<String> defaults() {
        List<ConnectionStatus> all = new ArrayList<>(connections.list());
        all.removeIf(c -> !c.isDefault());
        all.sort(Comparator.comparingInt(ConnectionStatus::order).thenComparing(ConnectionStatus::id));
        List<String> out = new ArrayList<>();
        for (ConnectionStatus c : all) {
            out.add(c.id());
        }
        return out;
    }

    /** Whether automatic firings are blocked now: paused, or inside a deny window. */
    synchronized boolean blockedNow() {
        return state.paused() || plan().deniedBy(clock.instant()) != null;
    }

    @Override
    public synchronized List<ScheduleItemStatus> items() {
        Plan plan = plan();
        Instant now = clock.instant();
        boolean paused = state.paused();
        List<ScheduleItemStatus> out = new ArrayList<>();
        for (Entry e : entries.values()) {
            Instant last = state.lastFiring(e.id);
            if (e.item == null) {
                out.add(new ScheduleItemStatus(e.id, e.connections, "", null, last, ERROR, e.error));
                continue;
            }
            ScheduleItem i = e.item;
            String st;
            String reason = "";
            Instant next = null;
            if (!i.enabled()) {
                st = DISABLED;
            } else if (waitingForOutbox(e)) {
                st = WAITING;
                reason = "minWaiting = " + i.minWaiting() + " needs the outgoing queue (Uplink mail), which is not"
                        + " installed";
            } else if (paused && !i.isDeny()) {
                st = PAUSED;
            } else {
                st = ACTIVE;
                if (i.isDeny()) {
                    reason = i.covers(now) ? "blocking firings now" : "";
                } else {
                    next = plan.next(i, now);
                    reason = missingConnections(i);
                }
            }
            if (!e.warnings.isEmpty()) {
                reason = reason.isEmpty() ? String.join("; ", e.warnings) : reason + "; " + String.join("; ", e.warnings);
            }
            out.add(new ScheduleItemStatus(e.id, i.connections(), i.when(), next, last, st, reason));
        }
        return out;
    }

    private String missingConnections(ScheduleItem i) {
        List<String> missing = new ArrayList<>();
        for (String c : i.connectionIds()) {
            if (connections.status(c).isEmpty()) {
                missing.add("connection '" + c + "' is not configured");
            }
        }
        return String.join("; ", missing);
    }

    @Override
    public void pause() {
        synchronized (this) {
            state.paused(true);
            for (Entry e : entries.values()) {
                disarm(e);
            }
        }
        LOG.info("Schedule paused: no scheduled firings until schedule:resume (manual firing still works)");
    }

    @Override
    public void resume() {
        synchronized (this) {
            state.paused(false);
            rearmAll(clock.instant());
        }
        LOG.info("Schedule resumed");
    }

    @Override
    public boolean isPaused() {
        return state.paused();
    }

    @Override
    public synchronized List<ForecastEntry> next(int count) {
        if (state.paused() || count <= 0) {
            return List.of();
        }
        return plan().forecast(clock.instant(), count, defaults());
    }

    @Override
    public synchronized Optional<Instant> nextFiring(String connectionId) {
        if (state.paused()) {
            return Optional.empty();
        }
        boolean isDefault = connections.status(connectionId).map(ConnectionStatus::isDefault).orElse(false);
        return Optional.ofNullable(plan().nextOf(connectionId, isDefault, clock.instant()));
    }

    @Override
    public synchronized boolean due(String connectionId) {
        if (state.paused()) {
            return false;
        }
        boolean isDefault = connections.status(connectionId).map(ConnectionStatus::isDefault).orElse(false);
        return plan().due(connectionId, isDefault, clock.instant());
    }
}

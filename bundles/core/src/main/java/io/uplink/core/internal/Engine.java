package io.uplink.core.internal;

import io.uplink.api.ConnectionService;
import io.uplink.api.ConnectionState;
import io.uplink.api.ConnectionStatus;
import io.uplink.api.Events;
import io.uplink.api.Firing;
import io.uplink.api.FiringResult;
import io.uplink.api.MethodInfo;
import io.uplink.api.NoSuchConnectionException;
import io.uplink.api.config.ConfigException;
import io.uplink.api.config.Settings;
import io.uplink.api.mail.MailCollector;
import io.uplink.api.mail.MailSender;
import io.uplink.api.method.ConnectionMethod;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The connections and their firing engine, free of OSGi so it can be tested with a clock and plain objects.
 *
 * <p>Rules it keeps: one firing per connection at a time, with every fire that arrives meanwhile coalesced
 * into one follow-up run; defaults one after the other; a connection's exclusive resources held by one
 * firing at a time; at most {@code maxConnections} connections active, the rest REJECTED in arrival order;
 * a configuration change to a firing connection applies when the firing ends.
 */
public final class Engine implements ConnectionService {

    private static final Logger LOG = LoggerFactory.getLogger(Engine.class);
    /** Every key of a connection, from its metatype. */
    static final Set<String> CONNECTION_KEYS = Settings.keysOf(ConnectionOcd.class);
    /** The methods whose keys the connection's metatype lists. */
    static final Set<String> SHIPPED_METHODS = Set.of("network", "dialup");

    /** Limits and places, from {@code etc/io.uplink.core.cfg}. */
    record Limits(int maxConnections, int historySize, int collectorsParallel) {
        static final Limits DEFAULT = new Limits(10, 100, 16);
    }

    private final Object lock = new Object();
    private final Clock clock;
    private final ExecutorService runner;
    private final ExecutorService defaultsSequencer;
    /** The collectors' runs of every firing, each holding a slot of {@link #collectorSlots}; idle threads end. */
    private final ExecutorService collectRunner;
    private final ResourceLocks resources = new ResourceLocks();
    private final AtomicInteger seq = new AtomicInteger();

    /** Configured connections by configuration PID, in arrival order. */
    private final Map<String, Entry> byPid = new LinkedHashMap<>();
    /** The connections not removed, by id, in arrival order: the first is the one in force, the rest are twins. */
    private final Map<String, List<Entry>> liveById = new HashMap<>();
    /** Connections removed while firing: they stay visible until the firing ends. */
    private final List<Entry> leaving = new ArrayList<>();
    /** Whether the last pass found a connection over {@code maxConnections}: then every change ranks them all. */
    private boolean overLimit;
    /** Installed methods by name; the first registered serves. */
    private final Map<String, List<MethodEntry>> methods = new TreeMap<>();
    /** Last firings by connection id, oldest first. */
    private final Map<String, Deque<FiringResult>> history = new HashMap<>();

    private volatile Limits limits = Limits.DEFAULT;
    /** Collector sessions across all firings. */
    private final CollectorSlots collectorSlots = new CollectorSlots(Limits.DEFAULT.collectorsParallel());
    private volatile MailTasks mail = MailTasks.NONE;
    private volatile EventSink events = EventSink.NONE;
    private volatile HistoryStore store;
    /** The engine's side of the cluster, or {@code null} on a single node. */
    private volatile ClusterFirings cluster;
    private volatile boolean closed;

    record MethodEntry(ConnectionMethod method, MethodInfo info) {
    }

    /** One configured connection. Guarded by {@link #lock}. */
    static final class Entry {
        final String pid;
        int arrival;
        Settings settings;
        ConnectionConfig config;
        String configError;
        /** The method instance the current settings were checked with ({@code null}: not checked yet). */
        ConnectionMethod checkedWith;
        /** What that check found, {@code null} when nothing. */
        String checkProblem;
        /** Odd but harmless: unknown keys, each with the nearest known one. */
        List<String> warnings = List.of();
        ConnectionState baseState = ConnectionState.IDLE;
        String reason = "";
        FiringRun current;
        FiringHandle followUp;
        Settings pending;
        boolean removed;

        Entry(String pid) {
            this.pid = pid;
        }

        String id() {
            return settings.id();
        }
    }

    public Engine(Clock clock) {
        this.clock = clock;
        this.runner = Executors.newCachedThreadPool(named("uplink-firing"));
        this.defaultsSequencer = Executors.newSingleThreadExecutor(named("uplink-defaults"));
        this.collectRunner = Executors.newCachedThreadPool(named("uplink-collect"));
    }

    private static java.util.concurrent.ThreadFactory named(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    // ------------------------------------------------------------------ wiring

    void setLimits(Limits l) {
        synchronized (lock) {
            limits = l;
            collectorSlots.resize(l.collectorsParallel());
            refreshAll();
        }
    }

    CollectorSlots collectorSlots() {
        return collectorSlots;
    }

    Limits limits() {
        return limits;
    }

    void setMail(MailTasks m) {
        mail = m == null ? MailTasks.NONE : m;
    }

    MailTasks mail() {
        return mail;
    }

    void setEvents(EventSink e) {
        events = e == null ? EventSink.NONE : e;
    }

    EventSink events() {
        return events;
    }

    Clock clock() {
        return clock;
    }

    ResourceLocks resources() {
        return resources;
    }

    ExecutorService runner() {
        return runner;
    }

    ExecutorService collectRunner() {
        return collectRunner;
    }

    /** Where history is kept; loads what is there for the connections already known. */
    void setHistoryStore(HistoryStore s) {
        synchronized (lock) {
            store = s;
            history.clear();
            for (Entry e : byPid.values()) {
                history.computeIfAbsent(e.id(), id -> s.load(id, limits.historySize()));
            }
        }
    }

    /**
     * Joins a cluster ({@code null}: leaves it). In a cluster every fire goes through the cluster, and the views
     * come from it; a dial-up connection must be pinned to a node.
     */
    void setCluster(ClusterFirings c) {
        ClusterFirings old;
        synchronized (lock) {
            old = cluster;
            cluster = c;
            if (old != null && old != c) {
                // their fence belonged to the cluster service that left: they cannot commit any more
                for (Entry e : byPid.values()) {
                    if (e.current != null && e.current.handle().node() != null) {
                        e.current.stop("the cluster service left this node", true);
                    }
                }
            }
            refreshAll();
        }
        if (old != null && old != c) {
            old.close();
        }
    }

    ClusterFirings cluster() {
        return cluster;
    }

    void methodAdded(String name, ConnectionMethod m, MethodInfo info) {
        synchronized (lock) {
            methods.computeIfAbsent(name, n -> new ArrayList<>()).add(new MethodEntry(m, info));
            LOG.info("connection method '{}' installed ({} {})", name, info.bundle(), info.version());
            refreshAll();
        }
    }

    void methodRemoved(String name, ConnectionMethod m) {
        synchronized (lock) {
            List<MethodEntry> l = methods.get(name);
            if (l != null) {
                l.removeIf(me -> me.method() == m);
                if (l.isEmpty()) {
                    methods.remove(name);
                    LOG.info("connection method '{}' removed", name);
                }
            }
            refreshAll();
        }
    }

    ConnectionMethod method(String name) {
        synchronized (lock) {
            List<MethodEntry> l = methods.get(name);
            return l == null || l.isEmpty() ? null : l.get(0).method();
        }
    }

    // ------------------------------------------------------------------ configuration

    /** A connection configuration arrived or changed. Never throws: a bad one goes to ERROR. */
    void configure(String pid, Map<String, ?> properties) {
        Settings s = Settings.of("connection", ConnectionConfig.FACTORY_PID, properties);
        synchronized (lock) {
            Entry e = byPid.get(pid);
            if (e == null) {
                e = new Entry(pid);
                e.arrival = seq.incrementAndGet();
                e.settings = s;
                byPid.put(pid, e);
                HistoryStore st = store;
                if (st != null) {
                    history.computeIfAbsent(s.id(), id -> st.load(id, limits.historySize()));
                }
                apply(e, s);
                index(e);
                LOG.info("connection '{}' ({}) configured from {}", s.id(), e.config == null ? s.id() : e.config.name(), s.file());
                // a newcomer is last in arrival order: it is the twin, never the one it shadows
                refresh(List.of(e));
            } else if (e.current != null) {
                if (e.removed) {
                    // deleted and written again while its firing winds down: it stays, with the new settings
                    e.removed = false;
                    leaving.remove(e);
                    index(e);
                }
                e.pending = s;
                LOG.info("connection '{}' is firing; its new configuration from {} applies when the firing ends", s.id(), s.file());
            } else {
                reapply(e, s);
                LOG.info("connection '{}' reconfigured from {}", s.id(), s.file());
            }
        }
    }

    /** New settings for a connection at rest: only it, and connections sharing its old or new id, are looked at. */
    private void reapply(Entry e, Settings s) {
        String before = e.id();
        unindex(e);
        apply(e, s);
        index(e);
        List<Entry> affected = new ArrayList<>();
        affected.add(e);
        if (!before.equals(e.id())) {
            affected.addAll(liveById.getOrDefault(before, List.of()));
            affected.addAll(liveById.getOrDefault(e.id(), List.of()));
        }
        refresh(affected);
    }

    /** A connection's configuration was deleted: it finishes the step in progress, hangs up and goes. */
    void remove(String pid) {
        ConnectionMethod hang = null;
        Settings hangSettings = null;
        synchronized (lock) {
            Entry e = byPid.get(pid);
            if (e == null || e.removed) {
                return;
            }
            e.removed = true;
            unindex(e);
            if (e.current != null) {
                leaving.add(e);
                e.current.stop("connection removed", false);
                LOG.info("connection '{}' removed; it hangs up after the step in progress", e.id());
            } else {
                drop(e);
                LOG.info("connection '{}' removed", e.id());
            }
            if (e.config != null) {
                hang = method(e.config.method());
                hangSettings = e.settings;
            }
            // a twin of the removed connection may now be the one in force
            refresh(liveById.getOrDefault(e.id(), List.of()));
        }
        if (hang != null) {
            try {
                hang.hangup(hangSettings);
            } catch (RuntimeException ex) {
                LOG.warn("connection '{}': hanging up its idle line failed: {}", hangSettings.id(), ex.toString());
            }
        }
    }

    private void drop(Entry e) {
        byPid.remove(e.pid);
        leaving.remove(e);
        if (e.followUp != null) {
            FiringHandle f = e.followUp;
            e.followUp = null;
            runner.execute(() -> f.complete(FiringRun.refused(this, f, e, "connection '" + e.id() + "' was removed")));
        }
        events.post(Events.STATE, Map.of(Events.CONNECTION_ID, e.id(), Events.CONNECTION_NAME, name(e),
                Events.STATE_NAME, "REMOVED"));
    }

    /** Adds a connection that is not removed to {@link #liveById}, in arrival order. */
    private void index(Entry e) {
        List<Entry> l = liveById.computeIfAbsent(e.id(), k -> new ArrayList<>(1));
        int at = l.size();
        while (at > 0 && l.get(at - 1).arrival > e.arrival) {
            at--;
        }
        l.add(at, e);
    }

    private void unindex(Entry e) {
        List<Entry> l = liveById.get(e.id());
        if (l != null) {
            l.remove(e);
            if (l.isEmpty()) {
                liveById.remove(e.id());
            }
        }
    }

    private void apply(Entry e, Settings s) {
        e.settings = s;
        e.pending = null;
        e.checkedWith = null;
        e.checkProblem = null;
        try {
            e.config = ConnectionConfig.parse(s);
            e.configError = null;
        } catch (ConfigException ex) {
            e.config = null;
            e.configError = ex.getMessage();
        } catch (RuntimeException ex) {
            // a value no check foresaw: still ERROR with the item and the file, never a failed component
            e.config = null;
            e.configError = s.problem(null, "cannot be used: " + ex).getMessage();
        }
        List<String> warnings = unknownKeys(s);
        if (!warnings.equals(e.warnings)) {
            for (String w : warnings) {
                LOG.warn("connection '{}': {}", s.id(), w);
            }
        }
        e.warnings = warnings;
    }

    /** Keys no connection reads; a key of a third-party method ({@code <method>.*}) is that method's to check. */
    static List<String> unknownKeys(Settings s) {
        String method = s.string("method", "");
        Set<String> known = new java.util.TreeSet<>(CONNECTION_KEYS);
        if (!method.isEmpty() && !SHIPPED_METHODS.contains(method)) {
            for (String k : s.keys()) {
                if (k.startsWith(method + ".")) {
                    known.add(k);
                }
            }
        }
        return s.unknownKeys(known);
    }

    /**
     * Settles the resting state of the connections a change touched; the others are not looked at. Only while
     * some connection is (or was, at the last pass) over {@code maxConnections} does a change rank them all,
     * since one arriving or going then moves the limit's line. Holds {@link #lock}.
     */
    private void refresh(Collection<Entry> affected) {
        if (overLimit || liveById.size() > limits.maxConnections()) {
            refreshAll();
            return;
        }
        for (Entry e : affected) {
            if (!e.removed) {
                settle(e, liveById.get(e.id()).get(0), false);
            }
        }
    }

    /**
     * Recomputes every connection's resting state, for a change that concerns them all (the limit, a method
     * arriving or going); a connection's check by its method is redone only when its method changed. Logs and
     * posts each change. Holds {@link #lock}.
     */
    private void refreshAll() {
        int active = 0;
        boolean rejected = false;
        // byPid iterates in arrival order: entries are only ever appended
        for (Entry e : byPid.values()) {
            if (e.removed) {
                continue;
            }
            Entry first = liveById.get(e.id()).get(0);
            boolean over = first == e && active >= limits.maxConnections();
            if (first == e && !over) {
                active++;
            }
            rejected |= over;
            settle(e, first, over);
        }
        overLimit = rejected;
    }

    /**
     * Sets one connection's resting state and reason, logging and posting only a change.
     *
     * @param first the connection in force for this id (the first to arrive); another one makes this a twin
     * @param over whether this connection is over {@code maxConnections}
     */
    private void settle(Entry e, Entry first, boolean over) {
        ConnectionState state;
        String reason;
        if (first != e) {
            state = ConnectionState.ERROR;
            reason = "connection '" + e.id() + "' (" + e.settings.file() + "): the id is already used by "
                    + first.settings.file() + "; remove one of them";
        } else if (over) {
            state = ConnectionState.REJECTED;
            reason = "connection '" + e.id() + "' (" + e.settings.file() + ") is over the limit of "
                    + limits.maxConnections() + " connections (maxConnections in etc/io.uplink.core.cfg); "
                    + "it becomes active when another connection is removed";
        } else if (e.config == null) {
            state = ConnectionState.ERROR;
            reason = e.configError;
        } else {
            ConnectionMethod m = method(e.config.method());
            if (m == null) {
                state = ConnectionState.WAITING;
                reason = "method '" + e.config.method() + "' is not installed";
                Set<String> names = new java.util.TreeSet<>(SHIPPED_METHODS);
                names.addAll(methods.keySet());
                String near = Settings.suggest(e.config.method(), names);
                if (near != null && !near.equals(e.config.method())) {
                    reason += " (" + e.settings.file() + ", key 'method'); did you mean '" + near + "'?";
                }
            } else {
                if (e.checkedWith != m) {
                    e.checkProblem = validate(m, e.settings);
                    e.checkedWith = m;
                }
                String problem = e.checkProblem != null ? e.checkProblem : unpinned(e, m);
                state = problem == null ? ConnectionState.IDLE : ConnectionState.ERROR;
                reason = problem == null ? "" : problem;
            }
        }
        if (state != e.baseState || !Objects.equals(reason, e.reason)) {
            e.baseState = state;
            e.reason = reason;
            if (state == ConnectionState.ERROR || state == ConnectionState.REJECTED) {
                LOG.warn("{}", reason);
            } else if (state == ConnectionState.WAITING) {
                LOG.info("connection '{}': {}", e.id(), reason);
            }
            events.post(Events.STATE, Map.of(Events.CONNECTION_ID, e.id(), Events.CONNECTION_NAME, name(e),
                    Events.STATE_NAME, state.name(), Events.MESSAGE, reason == null ? "" : reason));
        }
    }

    /** In a cluster, a connection with a device must be pinned: the problem, or {@code null}. Holds {@link #lock}. */
    private String unpinned(Entry e, ConnectionMethod m) {
        ClusterFirings c = cluster;
        return c == null ? null : c.pinProblem(e.settings, e.config, m);
    }

    private static String validate(ConnectionMethod m, Settings s) {
        try {
            m.validate(s);
            return null;
        } catch (ConfigException ex) {
            return ex.getMessage();
        } catch (RuntimeException ex) {
            return "connection '" + s.id() + "' (" + s.file() + "): method '" + s.string("method", "?")
                    + "' cannot check its settings: " + ex;
        }
    }

    static String name(Entry e) {
        return e.config != null ? e.config.name() : e.settings.string("name", e.id());
    }

    // ------------------------------------------------------------------ ConnectionService

    @Override
    public List<ConnectionStatus> list() {
        List<ConnectionStatus> out = new ArrayList<>();
        synchronized (lock) {
            for (Entry e : live()) {
                out.add(statusOf(e));
            }
        }
        out.sort(Comparator.comparing(ConnectionStatus::id));
        // the cluster's views ask the database: never under the engine's lock
        ClusterFirings c = cluster;
        return c == null ? out : c.decorate(out);
    }

    @Override
    public Optional<ConnectionStatus> status(String id) {
        ConnectionStatus s;
        synchronized (lock) {
            Entry e = byId(id);
            if (e == null) {
                return Optional.empty();
            }
            s = statusOf(e);
        }
        ClusterFirings c = cluster;
        return Optional.of(c == null ? s : c.decorate(List.of(s)).get(0));
    }

    private List<Entry> live() {
        List<Entry> out = new ArrayList<>();
        for (Entry e : byPid.values()) {
            if (!e.removed || e.current != null) {
                out.add(e);
            }
        }
        return out;
    }

    /** The connection with this id; of two with one id, the first configured. Holds {@link #lock}. */
    private Entry byId(String id) {
        List<Entry> l = liveById.get(id);
        Entry found = l == null ? null : l.get(0);
        for (Entry e : leaving) {
            if (e.id().equals(id) && (found == null || e.arrival < found.arrival)) {
                found = e;
            }
        }
        return found;
    }

    private ConnectionStatus statusOf(Entry e) {
        ConnectionConfig c = e.config;
        FiringRun run = e.current;
        ConnectionState state = run != null ? run.state() : e.baseState;
        String reason = run != null ? run.reasonLine() : e.reason;
        if (run == null && e.pending != null) {
            reason = reason + " (a configuration change applies when the firing ends)";
        }
        List<MailCollector> linked = mail.collectors(e.id());
        List<String> collectorIds = new ArrayList<>();
        for (MailCollector mc : linked) {
            collectorIds.add(mc.id());
        }
        List<String> problems = new ArrayList<>();
        if (c != null) {
            if (c.sender() != null && mail.sender(c.sender()) == null) {
                problems.add(mail.anySender() ? "sender '" + c.sender() + "' is not configured"
                        : "sender '" + c.sender() + "' is not configured (no Mail Sender is installed)");
            }
            if (c.sender() != null) {
                MailSender ms = mail.sender(c.sender());
                Optional<String> p = ms == null ? Optional.empty() : ms.problem();
                p.ifPresent(text -> problems.add("sender '" + c.sender() + "' is in ERROR: " + text));
            }
            if (c.fallback() != null && byId(c.fallback()) == null) {
                problems.add("fallback '" + c.fallback() + "' is not configured");
            }
        }
        for (MailCollector mc : linked) {
            mc.problem().ifPresent(text -> problems.add("collector '" + mc.id() + "' is in ERROR: " + text));
        }
        problems.addAll(e.warnings);
        Deque<FiringResult> h = history.get(e.id());
        FiringResult last = h == null || h.isEmpty() ? null : h.peekLast();
        return new ConnectionStatus(e.id(), name(e), c != null ? c.method() : e.settings.string("method", ""),
                c != null && c.isDefault(), c != null ? c.order() : 0, state, reason == null ? "" : reason,
                e.settings.file(), c != null && c.sender() != null ? c.sender() : "", collectorIds,
                c != null && c.fallback() != null ? c.fallback() : "", run != null ? run.progress() : null, last,
                problems, e.settings.masked());
    }

    @Override
    public Firing fire(String id, String cause) {
        return fire(id, cause, null);
    }

    @Override
    public Firing fire(String id, String cause, Instant slot) {
        return cluster == null ? request(id, cause, null, Set.of()) : clusterRequest(id, cause, slot);
    }

    /**
     * In a cluster: checks the id here, then asks the cluster to fire it on whichever node may. A connection in
     * ERROR or REJECTED (the configuration is the same on every node) is refused at once, as a firing of it would be.
     */
    FiringHandle clusterRequest(String id, String cause, Instant slot) {
        ClusterFirings c = cluster;
        if (closed) {
            throw new IllegalStateException("Uplink is stopping");
        }
        if (c == null) {
            return request(id, cause, null, Set.of());
        }
        FiringHandle refused = null;
        synchronized (lock) {
            Entry e = byId(id);
            if (e == null || e.removed) {
                throw new NoSuchConnectionException(id);
            }
            if (e.baseState == ConnectionState.ERROR || e.baseState == ConnectionState.REJECTED) {
                refused = new FiringHandle(newId(), id, cause, Set.of());
                refused.complete(FiringRun.refused(this, refused, e, e.reason));
            }
        }
        return refused != null ? refused : c.request(id, cause, slot);
    }

    /** A firing's fallback: through the cluster when the firing runs for the cluster, else here. */
    FiringHandle requestFallback(String fallback, String from, FiringHandle firing, Set<String> chain) {
        if (firing.node() != null && cluster != null) {
            return clusterRequest(fallback, ClusterFirings.fallbackCause(from, firing.chain()), null);
        }
        return request(fallback, "fallback:" + from, null, chain);
    }

    /** Whether this node may run a connection for the cluster (see {@link ClusterFirings#canRun}). */
    boolean canRunHere(String id, String node) {
        synchronized (lock) {
            Entry e = byId(id);
            return e != null && !e.removed && e.config != null && e.baseState == ConnectionState.IDLE
                    && (e.config.node() == null || e.config.node().equals(node));
        }
    }

    /**
     * Starts a firing the cluster handed to this node, with the cluster's firing id. The engine's own single flight
     * still holds: behind a firing still winding down here, it waits for its turn.
     */
    void startFenced(FiringHandle h) throws InterruptedException {
        while (true) {
            FiringHandle before;
            synchronized (lock) {
                if (closed) {
                    throw new IllegalStateException("Uplink is stopping");
                }
                Entry e = byId(h.connectionId());
                if (e == null || e.removed) {
                    throw new NoSuchConnectionException(h.connectionId());
                }
                if (e.current == null) {
                    start(e, h);
                    return;
                }
                if (e.followUp == null) {
                    e.followUp = h;
                    return;
                }
                before = e.followUp;
            }
            try {
                before.ownResult().get();
            } catch (java.util.concurrent.ExecutionException ex) {
                // never: handles complete normally
            }
        }
    }

    /** Stops one firing (running or waiting for its turn here) as a hang-up does. */
    void stopFiring(FiringHandle h, String reason) {
        FiringHandle dropped = null;
        Entry owner = null;
        synchronized (lock) {
            Entry e = byId(h.connectionId());
            if (e == null) {
                return;
            }
            if (e.current != null && e.current.handle() == h) {
                e.current.stop(reason, true);
            } else if (e.followUp == h) {
                e.followUp = null;
                dropped = h;
                owner = e;
            }
        }
        if (dropped != null) {
            dropped.complete(FiringRun.refused(this, dropped, owner, "not run: " + reason));
        }
    }

    /**
     * Starts a firing, or coalesces it into the connection's one follow-up run.
     *
     * @param preset a handle made earlier (defaults), or {@code null}
     * @param chain connections already tried in this fallback chain
     */
    FiringHandle request(String id, String cause, FiringHandle preset, Set<String> chain) {
        if (closed) {
            throw new IllegalStateException("Uplink is stopping");
        }
        FiringHandle result;
        synchronized (lock) {
            Entry e = byId(id);
            if (e == null || e.removed) {
                throw new NoSuchConnectionException(id);
            }
            if (e.current != null) {
                if (e.followUp == null) {
                    e.followUp = preset != null ? preset : new FiringHandle(newId(), id, cause, chain);
                    result = e.followUp;
                } else if (preset != null) {
                    preset.follow(e.followUp);
                    result = preset;
                } else {
                    result = e.followUp;
                }
            } else {
                result = preset != null ? preset : new FiringHandle(newId(), id, cause, chain);
                start(e, result);
            }
        }
        return result;
    }

    private void start(Entry e, FiringHandle h) {
        FiringRun run = new FiringRun(this, e, h);
        e.current = run;
        runner.execute(run);
    }

    /** Called by a run when it ends: records it, applies pending configuration, starts the follow-up. */
    void finished(FiringRun run, FiringResult result) {
        synchronized (lock) {
            Entry e = run.entry();
            // a firing run for the cluster is recorded by the cluster, not in this node's files
            if (run.handle().node() == null) {
                Deque<FiringResult> h = history.computeIfAbsent(e.id(), k -> new ArrayDeque<>());
                h.addLast(result);
                while (h.size() > limits.historySize()) {
                    h.removeFirst();
                }
                HistoryStore st = store;
                if (st != null) {
                    st.append(result, h, limits.historySize());
                }
            }
            e.current = null;
            if (e.removed) {
                // it left the id index when it was removed: no other connection changes now
                drop(e);
            } else {
                if (e.pending != null) {
                    reapply(e, e.pending);
                }
                if (e.followUp != null && !closed) {
                    FiringHandle next = e.followUp;
                    e.followUp = null;
                    start(e, next);
                }
            }
        }
    }

    Object lock() {
        return lock;
    }

    static String newId() {
        return UUID.randomUUID().toString().substring(0, 8);
    }

    @Override
    public List<Firing> fireDefaults(String cause) {
        return fireDefaults(cause, null);
    }

    @Override
    public List<Firing> fireDefaults(String cause, Instant slot) {
        List<String> ids = new ArrayList<>();
        synchronized (lock) {
            List<Entry> defaults = new ArrayList<>();
            for (Entry e : live()) {
                if (!e.removed && e.config != null && e.config.isDefault() && byId(e.id()) == e) {
                    defaults.add(e);
                }
            }
            defaults.sort(Comparator.comparingInt((Entry e) -> e.config.order()).thenComparing(Entry::id));
            for (Entry e : defaults) {
                ids.add(e.id());
            }
        }
        ClusterFirings c = cluster;
        if (c != null) {
            return c.fireDefaults(ids, cause, slot);
        }
        List<Firing> handles = new ArrayList<>();
        List<FiringHandle> preset = new ArrayList<>();
        for (String id : ids) {
            FiringHandle h = new FiringHandle(newId(), id, cause, Set.of());
            preset.add(h);
            handles.add(h);
        }
        if (!preset.isEmpty()) {
            defaultsSequencer.execute(() -> {
                for (FiringHandle h : preset) {
                    try {
                        request(h.connectionId(), h.cause(), h, Set.of());
                        h.result().toCompletableFuture().join();
                    } catch (RuntimeException ex) {
                        // removed meanwhile: that one is refused, the next one runs
                        h.complete(FiringRun.refusedUnknown(this, h, ex.getMessage()));
                    }
                }
            });
        }
        return handles;
    }

    @Override
    public boolean hangup(String id) {
        ConnectionMethod m;
        Settings s;
        synchronized (lock) {
            Entry e = byId(id);
            if (e == null) {
                throw new NoSuchConnectionException(id);
            }
            if (e.current != null) {
                e.current.stop("hung up by request", true);
                return true;
            }
            m = e.config == null ? null : method(e.config.method());
            s = e.settings;
        }
        // in a cluster the firing may run on another node: the cluster asks that node to stop it
        ClusterFirings c = cluster;
        if (c != null && c.hangupElsewhere(id)) {
            return true;
        }
        return m != null && m.hangup(s);
    }

    @Override
    public List<FiringResult> history(String id, int limit) {
        ClusterFirings c = cluster;
        if (c != null) {
            boolean known;
            synchronized (lock) {
                known = id == null || byId(id) != null;
            }
            List<FiringResult> past = c.history(id, limit);
            // a connection removed here may still have a past in the cluster
            if (!known && past.isEmpty()) {
                throw new NoSuchConnectionException(id);
            }
            return past;
        }
        synchronized (lock) {
            List<FiringResult> all = new ArrayList<>();
            if (id != null) {
                if (byId(id) == null && !history.containsKey(id)) {
                    throw new NoSuchConnectionException(id);
                }
                Deque<FiringResult> h = history.get(id);
                if (h != null) {
                    all.addAll(h);
                }
            } else {
                for (Deque<FiringResult> h : history.values()) {
                    all.addAll(h);
                }
            }
            all.sort(Comparator.comparing(FiringResult::started).reversed());
            return all.size() > limit ? new ArrayList<>(all.subList(0, Math.max(0, limit))) : all;
        }
    }

    @Override
    public List<MethodInfo> methods() {
        synchronized (lock) {
            List<MethodInfo> out = new ArrayList<>();
            for (List<MethodEntry> l : methods.values()) {
                if (!l.isEmpty()) {
                    out.add(l.get(0).info());
                }
            }
            return out;
        }
    }

    /** Stops every firing after its step in progress and waits a while for them to hang up. */
    void close(long waitMillis) {
        List<FiringRun> running = new ArrayList<>();
        synchronized (lock) {
            closed = true;
            for (Entry e : byPid.values()) {
                if (e.current != null) {
                    e.current.stop("Uplink is stopping", true);
                    running.add(e.current);
                }
            }
        }
        defaultsSequencer.shutdownNow();
        ClusterFirings c = cluster;
        if (c != null) {
            c.close();
        }
        runner.shutdown();
        try {
            if (!runner.awaitTermination(waitMillis, TimeUnit.MILLISECONDS)) {
                LOG.warn("{} firing(s) did not end in time; interrupting them", running.size());
                runner.shutdownNow();
            }
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
        // the firings interrupted what they still ran; threads left idle go now
        collectRunner.shutdown();
    }
}

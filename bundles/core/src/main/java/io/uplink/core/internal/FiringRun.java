package io.uplink.core.internal;

import io.uplink.api.ConnectionState;
import io.uplink.api.Events;
import io.uplink.api.FiringResult;
import io.uplink.api.MailCounts;
import io.uplink.api.NoSuchConnectionException;
import io.uplink.api.Outcome;
import io.uplink.api.Phase;
import io.uplink.api.PhaseResult;
import io.uplink.api.Progress;
import io.uplink.api.config.Settings;
import io.uplink.api.mail.CollectReport;
import io.uplink.api.mail.MailCollector;
import io.uplink.api.mail.MailSender;
import io.uplink.api.mail.SendReport;
import io.uplink.api.mail.TaskContext;
import io.uplink.api.method.ConnectException;
import io.uplink.api.method.ConnectionMethod;
import io.uplink.api.method.Link;
import io.uplink.api.method.LinkContext;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One firing of one connection: wait for its exclusive resources, connect, run the post-connect command,
 * send, collect, run the pre-disconnect command, disconnect; then hand over to the fallback if it could
 * not connect. Every phase is timed and recorded; every step posts an event.
 */
final class FiringRun implements Runnable {

    private static final Logger LOG = LoggerFactory.getLogger(FiringRun.class);
    private static final long PROGRESS_EVENT_MILLIS = 250;
    private static final int CONNECT_TRAIL = 12;

    private final Engine engine;
    private final Engine.Entry entry;
    private final FiringHandle handle;
    private final List<PhaseResult> phases = new ArrayList<>();
    private final List<String> errors = new ArrayList<>();
    private final List<String> connectTrail = new ArrayList<>();

    private volatile ConnectionState state = ConnectionState.QUEUED;
    private volatile Phase phase = Phase.CONNECT;
    private volatile String message = "waiting for its turn";
    private volatile Progress progress;
    private volatile String stopReason;
    private volatile Thread thread;
    private volatile boolean interruptible;
    private volatile Link link;
    /** When the firing must end ({@code firing.timeout} after it started), and that setting's text. */
    private volatile Instant deadline;
    private volatile String deadlineSetting;

    private String id;
    private String name;
    private Instant phaseStart;
    private long lastProgressEvent;

    FiringRun(Engine engine, Engine.Entry entry, FiringHandle handle) {
        this.engine = engine;
        this.entry = entry;
        this.handle = handle;
        this.id = entry.id();
        this.name = Engine.name(entry);
    }

    Engine.Entry entry() {
        return entry;
    }

    FiringHandle handle() {
        return handle;
    }

    ConnectionState state() {
        return state;
    }

    String reasonLine() {
        return message == null ? "" : message;
    }

    Progress progress() {
        Progress p = progress;
        return p != null ? p : new Progress(handle.id(), phase, reasonLine(), 0, -1);
    }

    /**
     * Ends the firing after the step in progress.
     *
     * @param now also abandon a connect in progress (dialling) or a wait for the turn at once
     */
    void stop(String reason, boolean now) {
        stopReason = reason;
        Thread t = thread;
        if (now && interruptible && t != null) {
            t.interrupt();
        }
    }

    private boolean stopped() {
        Instant d = deadline;
        if (stopReason == null && d != null && !engine.clock().instant().isBefore(d)) {
            stopReason = "the firing ran past its time limit of " + deadlineSetting + " (key 'firing.timeout')";
        }
        return stopReason != null;
    }

    /** Time left until the firing's deadline; zero once it has passed. */
    private Optional<Duration> timeLeft() {
        Instant d = deadline;
        if (d == null) {
            return Optional.empty();
        }
        Duration left = Duration.between(engine.clock().instant(), d);
        return Optional.of(left.isNegative() ? Duration.ZERO : left);
    }

    @Override
    public void run() {
        thread = Thread.currentThread();
        FiringResult result;
        String fallback = null;
        try {
            Outcome[] outcome = new Outcome[1];
            fallback = execute(outcome);
            result = result(outcome[0], fallback);
        } catch (Throwable t) {
            LOG.error("connection '{}' ({}): firing {} failed unexpectedly", id, name, handle.id(), t);
            errors.add("internal error: " + t);
            result = result(Outcome.FAILED, null);
        } finally {
            thread = null;
            Thread.interrupted();
        }
        FiringHandle fb = null;
        if (fallback != null) {
            fb = requestFallback(fallback, result);
            if (fb == null) {
                result = result(Outcome.FAILED, null);
            }
        }
        log(result);
        engine.finished(this, result);
        handle.ended(result);
        post(Events.DISCONNECTED, result, null);
        if (result.outcome() != Outcome.OK) {
            post(Events.FAILED, result, null);
        }
        if (fb == null) {
            handle.complete(result);
        } else {
            FiringResult mine = result;
            fb.result().whenComplete((r, t) -> handle.complete(withFallback(mine, r)));
        }
    }

    private void log(FiringResult r) {
        String line = "connection '" + id + "' (" + name + ") firing " + r.firingId() + " " + r.outcome() + " in "
                + r.duration().toMillis() + " ms: " + r.summary();
        if (r.outcome() == Outcome.OK) {
            LOG.info(line);
        } else {
            LOG.warn(line);
        }
    }

    private FiringHandle requestFallback(String fallback, FiringResult mine) {
        Set<String> chain = new LinkedHashSet<>(handle.chain());
        chain.add(id);
        if (chain.contains(fallback)) {
            List<String> path = new ArrayList<>(chain);
            path.add(fallback);
            errors.add("fallback loop refused: " + String.join(" -> ", path));
            return null;
        }
        try {
            FiringHandle fb = engine.requestFallback(fallback, id, handle, chain);
            LOG.info("connection '{}' ({}) could not connect; firing its fallback '{}'", id, name, fallback);
            return fb;
        } catch (NoSuchConnectionException | IllegalStateException e) {
            errors.add("fallback '" + fallback + "' is not configured");
            return null;
        }
    }

    private FiringResult withFallback(FiringResult mine, FiringResult fb) {
        return new FiringResult(mine.firingId(), mine.connectionId(), mine.connectionName(), mine.cause(), mine.started(),
                mine.ended(), mine.outcome(), mine.summary(), mine.counts(), mine.phases(), mine.errors(), fb, mine.node());
    }

    private MailCounts counts = MailCounts.NONE;
    private Instant started;
    private Instant ended;
    private String linkDescription;
    private int tasks;
    private int failedTasks;
    private boolean fellBack;

    /**
     * Runs the phases.
     *
     * @return the fallback connection to fire, or {@code null}
     */
    private String execute(Outcome[] outcome) throws InterruptedException {
        ConnectionConfig c;
        Settings s;
        ConnectionState base;
        String reason;
        synchronized (engine.lock()) {
            c = entry.config;
            s = entry.settings;
            base = entry.baseState;
            reason = entry.reason;
        }
        started = engine.clock().instant();
        if (base == ConnectionState.ERROR || base == ConnectionState.REJECTED || c == null) {
            errors.add(reason);
            ended = started;
            outcome[0] = Outcome.FAILED;
            return null;
        }
        ConnectionMethod method = engine.method(c.method());
        Set<String> resources = Set.of();
        if (method != null && base != ConnectionState.WAITING) {
            try {
                resources = Set.copyOf(method.resources(s));
            } catch (RuntimeException e) {
                LOG.warn("connection '{}': method '{}' cannot name its resources: {}", id, c.method(), e.toString());
            }
        }
        interruptible = true;
        try {
            engine.resources().acquire(resources, id, m -> message = m);
        } catch (InterruptedException e) {
            errors.add("stopped while waiting for its turn: " + (stopReason != null ? stopReason : "interrupted"));
            ended = engine.clock().instant();
            outcome[0] = Outcome.FAILED;
            return null;
        } finally {
            interruptible = false;
        }
        try {
            started = engine.clock().instant();
            deadlineSetting = s.string(ConnectionConfig.FIRING_TIMEOUT, "30m");
            deadline = started.plus(c.firingTimeout());
            post(Events.FIRED, null, Map.of());
            return phases(c, s, method, base, reason, outcome);
        } finally {
            engine.resources().release(resources, id);
            ended = engine.clock().instant();
        }
    }

    private String phases(ConnectionConfig c, Settings s, ConnectionMethod method, ConnectionState base, String reason,
            Outcome[] outcome) throws InterruptedException {
        // CONNECT
        begin(Phase.CONNECT, ConnectionState.CONNECTING, "connecting");
        String connectError = null;
        Link l = null;
        if (method == null || base == ConnectionState.WAITING) {
            connectError = method == null ? "method '" + c.method() + "' is not installed" : reason;
        } else if (stopped()) {
            connectError = "stopped: " + stopReason;
        } else {
            interruptible = true;
            try {
                l = method.connect(new Ctx(s));
            } catch (ConnectException e) {
                connectError = e.getMessage();
            } catch (InterruptedException e) {
                connectError = "stopped while connecting: " + (stopReason != null ? stopReason : "interrupted");
            } catch (RuntimeException e) {
                connectError = "method '" + c.method() + "' failed: " + e;
                LOG.warn("connection '{}': method '{}' failed to connect", id, c.method(), e);
            } finally {
                interruptible = false;
                Thread.interrupted();
            }
        }
        if (l == null) {
            if (connectError == null) {
                connectError = "method '" + c.method() + "' returned no link";
            }
            end(false, connectTrail.isEmpty() ? connectError
                    : connectError + " (" + String.join("; ", connectTrail) + ")");
            errors.add("connect: " + connectError);
            outcome[0] = Outcome.FAILED;
            if (c.fallback() != null && !stopped()) {
                fellBack = true;
                return c.fallback();
            }
            return null;
        }
        link = l;
        linkDescription = safeDescribe(l);
        // what the method reported on the way (redials) stays in the record, not only in the live status
        end(true, connectTrail.isEmpty() ? linkDescription
                : linkDescription + " (" + String.join("; ", connectTrail) + ")");
        post(Events.CONNECTED, null, Map.of(Events.MESSAGE, linkDescription));
        try {
            boolean online = true;
            if (c.postConnect() != null && !stopped()) {
                begin(Phase.POST_CONNECT, ConnectionState.ONLINE, "running post-connect command");
                CommandRunner.Outcome r = CommandRunner.run(c.postConnect(), c.commandTimeout(), c.ignoreExitCode(), env(c));
                end(r.ok(), r.message());
                if (!r.ok()) {
                    errors.add("post-connect command: " + r.message());
                    online = false;
                }
            }
            if (online) {
                send(c);
                collect(c);
                if (c.preDisconnect() != null && !stopped()) {
                    tasks++;
                    begin(Phase.PRE_DISCONNECT, ConnectionState.ONLINE, "running pre-disconnect command");
                    CommandRunner.Outcome r = CommandRunner.run(c.preDisconnect(), c.commandTimeout(), c.ignoreExitCode(), env(c));
                    end(r.ok(), r.message());
                    if (!r.ok()) {
                        failedTasks++;
                        errors.add("pre-disconnect command: " + r.message());
                    }
                }
            }
            if (!l.isUp()) {
                String why = l.lostReason();
                errors.add("line lost" + (why == null ? "" : ": " + why));
            }
            if (stopped()) {
                errors.add("stopped: " + stopReason);
            }
            if (!online) {
                outcome[0] = Outcome.FAILED;
            } else if (tasks > 0 && failedTasks == tasks) {
                outcome[0] = Outcome.FAILED;
            } else if (failedTasks > 0 || !errors.isEmpty()) {
                outcome[0] = Outcome.PARTIAL;
            } else {
                outcome[0] = Outcome.OK;
            }
        } finally {
            begin(Phase.DISCONNECT, ConnectionState.DISCONNECTING, "disconnecting");
            boolean ok = true;
            String msg = "disconnected";
            try {
                l.close();
            } catch (RuntimeException e) {
                ok = false;
                msg = "hang-up failed: " + e;
                errors.add(msg);
            }
            end(ok, msg);
            link = null;
        }
        return null;
    }

    private void send(ConnectionConfig c) throws InterruptedException {
        if (stopped() || !linkUp()) {
            return;
        }
        begin(Phase.SEND, ConnectionState.SENDING, "sending");
        if (c.sender() == null) {
            end(true, "no Mail Sender linked (key 'sender')");
            return;
        }
        tasks++;
        MailSender sender = engine.mail().sender(c.sender());
        if (sender == null) {
            String why = engine.mail().anySender() ? "sender '" + c.sender() + "' is not configured"
                    : "sender '" + c.sender() + "' is not configured: no Mail Sender is installed";
            failedTasks++;
            errors.add(why);
            end(false, why);
            return;
        }
        SendReport r;
        try {
            r = sender.send(new Tasks(Phase.SEND, null));
        } catch (RuntimeException e) {
            LOG.warn("connection '{}': sender '{}' failed", id, c.sender(), e);
            r = new SendReport(0, 0, 0, List.of("sender '" + c.sender() + "' failed: " + e));
        }
        counts = counts.plus(new MailCounts(r.sent(), r.deferred(), r.failed(), 0, 0));
        boolean ok = r.errors().isEmpty();
        if (!ok) {
            failedTasks++;
            errors.addAll(r.errors());
        }
        String line = "sent " + r.sent() + (r.deferred() > 0 ? ", deferred " + r.deferred() : "")
                + (r.failed() > 0 ? ", failed " + r.failed() : "");
        end(ok, ok ? line : line + "; " + String.join("; ", r.errors()));
        post(Events.SENT, null, Map.of(Events.SENT_COUNT, r.sent(), Events.DEFERRED_COUNT, r.deferred(),
                Events.FAILED_COUNT, r.failed()));
    }

    private void collect(ConnectionConfig c) throws InterruptedException {
        if (stopped() || !linkUp()) {
            return;
        }
        begin(Phase.COLLECT, ConnectionState.COLLECTING, "collecting");
        List<MailCollector> collectors = engine.mail().collectors(id);
        if (collectors.isEmpty()) {
            end(true, "no Mail Collectors linked");
            return;
        }
        // The slots are shared by every firing. The firing's own thread waits for each slot in turn and only then
        // hands the collector to the engine's shared threads: no thread per collector waits for its turn, and no
        // threads are started and ended per firing (a thousand per hundred firings of ten collectors each).
        CollectorSlots slots = engine.collectorSlots();
        ExecutorService pool = engine.collectRunner();
        boolean alone = collectors.size() == 1;
        int collected = 0;
        int skipped = 0;
        List<String> lines = new ArrayList<>();
        boolean allOk = true;
        List<CollectTask> started = new ArrayList<>();
        List<Future<CollectReport>> futures = new ArrayList<>();
        try {
            for (MailCollector mc : collectors) {
                slots.acquire();
                CollectTask task = new CollectTask(mc, slots, alone);
                try {
                    futures.add(pool.submit(task));
                } catch (RuntimeException e) {
                    // not taken (the engine is stopping): the slot was never used
                    slots.release();
                    throw e;
                }
                started.add(task);
            }
            for (int i = 0; i < futures.size(); i++) {
                MailCollector mc = collectors.get(i);
                tasks++;
                CollectReport r;
                try {
                    r = futures.get(i).get();
                } catch (ExecutionException e) {
                    r = new CollectReport(mc.id(), 0, 0, List.of("collector '" + mc.id() + "' failed: " + e.getCause()));
                }
                collected += r.collected();
                skipped += r.skipped();
                lines.add(mc.id() + ": " + r.collected() + (r.skipped() > 0 ? " (" + r.skipped() + " skipped)" : ""));
                if (r.taskFailed()) {
                    failedTasks++;
                    allOk = false;
                    for (String err : r.errors()) {
                        errors.add(err.startsWith("collector '") ? err : "collector '" + mc.id() + "': " + err);
                    }
                }
            }
        } finally {
            // interrupted or stopping: what still runs is interrupted (as shutting down the firing's own pool did)
            for (CollectTask t : started) {
                t.abandon();
            }
        }
        counts = counts.plus(new MailCounts(0, 0, 0, collected, skipped));
        end(allOk, "collected " + collected + (skipped > 0 ? ", skipped " + skipped : "") + " (" + String.join(", ", lines) + ")");
        post(Events.COLLECTED, null, Map.of(Events.COLLECTED_COUNT, collected, Events.SKIPPED_COUNT, skipped));
    }

    private boolean linkUp() {
        Link l = link;
        return !stopped() && l != null && l.isUp();
    }

    private Map<String, String> env(ConnectionConfig c) {
        Map<String, String> env = new HashMap<>();
        env.put("CONNECTION", id);
        env.put("CONNECTION_NAME", c.name());
        env.put("FIRING_ID", handle.id());
        return env;
    }

    private static String safeDescribe(Link l) {
        try {
            String d = l.describe();
            return d == null ? "connected" : d;
        } catch (RuntimeException e) {
            return "connected";
        }
    }

    private void begin(Phase p, ConnectionState st, String msg) {
        phase = p;
        state = st;
        message = msg;
        progress = null;
        phaseStart = engine.clock().instant();
        post(Events.PHASE_STARTED, null, Map.of(Events.PHASE, p.name()));
    }

    private void end(boolean ok, String msg) {
        phases.add(new PhaseResult(phase, phaseStart, engine.clock().instant(), ok, msg));
    }

    private FiringResult result(Outcome outcome, String fallback) {
        if (started == null) {
            started = engine.clock().instant();
        }
        if (ended == null) {
            ended = engine.clock().instant();
        }
        return new FiringResult(handle.id(), id, name, handle.cause(), started, ended, outcome,
                summary(outcome, fallback), counts, phases, errors, null, handle.node());
    }

    private String summary(Outcome outcome, String fallback) {
        List<String> parts = new ArrayList<>();
        if (linkDescription != null) {
            if (counts.sent() + counts.deferred() + counts.failed() > 0 || tasks > 0) {
                parts.add("sent " + counts.sent());
                if (counts.deferred() > 0) {
                    parts.add("deferred " + counts.deferred());
                }
                if (counts.failed() > 0) {
                    parts.add("failed " + counts.failed());
                }
                parts.add("collected " + counts.collected());
                if (counts.skipped() > 0) {
                    parts.add("skipped " + counts.skipped());
                }
            } else {
                parts.add("connected (" + linkDescription + "); nothing to send or collect");
            }
        }
        String s = String.join(", ", parts);
        if (outcome != Outcome.OK && !errors.isEmpty()) {
            s = (s.isEmpty() ? "" : s + "; ") + String.join("; ", errors);
        }
        if (fallback != null && fellBack) {
            s = s + "; fell back to '" + fallback + "'";
        }
        return s;
    }

    private void post(String topic, FiringResult r, Map<String, Object> extra) {
        Map<String, Object> p = new HashMap<>();
        p.put(Events.CONNECTION_ID, id);
        p.put(Events.CONNECTION_NAME, name);
        p.put(Events.FIRING_ID, handle.id());
        p.put(Events.CAUSE, handle.cause());
        if (extra != null) {
            p.putAll(extra);
        }
        if (r != null) {
            p.put(Events.OUTCOME, r.outcome().name());
            p.put(Events.SENT_COUNT, r.counts().sent());
            p.put(Events.DEFERRED_COUNT, r.counts().deferred());
            p.put(Events.FAILED_COUNT, r.counts().failed());
            p.put(Events.COLLECTED_COUNT, r.counts().collected());
            p.put(Events.SKIPPED_COUNT, r.counts().skipped());
            p.put(Events.DURATION_MS, r.duration().toMillis());
            p.put(Events.MESSAGE, r.summary());
            if (!r.errors().isEmpty()) {
                p.put(Events.ERROR, String.join("; ", r.errors()));
            }
            for (PhaseResult pr : r.phases()) {
                if (!pr.ok()) {
                    p.put(Events.PHASE, pr.phase().name());
                    break;
                }
            }
        }
        try {
            engine.events().post(topic, p);
        } catch (RuntimeException e) {
            LOG.debug("event {} not posted: {}", topic, e.toString());
        }
    }

    private void progress(String msg, int done, int total) {
        progress(msg, done, total, true);
    }

    /**
     * The firing's progress, for its status at once and as a {@code PROGRESS} event at most every
     * {@link #PROGRESS_EVENT_MILLIS}; a step's end ({@code done == total}) is posted at once when {@code endPosted}
     * (not for each of many collectors running side by side: with a hundred connections of ten collectors fired
     * together, those and the 100 ms events were one event per ten messages, each handed between EventAdmin's threads).
     */
    private void progress(String msg, int done, int total, boolean endPosted) {
        if (phase == Phase.CONNECT && connectTrail.size() < CONNECT_TRAIL && !connectTrail.contains(msg)) {
            connectTrail.add(msg);
        }
        message = msg;
        progress = new Progress(handle.id(), phase, msg, done, total);
        long now = System.nanoTime() / 1_000_000L;
        if (now - lastProgressEvent >= PROGRESS_EVENT_MILLIS || (endPosted && total >= 0 && done >= total)) {
            lastProgressEvent = now;
            post(Events.PROGRESS, null, Map.of(Events.PHASE, phase.name(), Events.MESSAGE, msg, Events.DONE, done,
                    Events.TOTAL, total));
        }
    }

    /** A result for a firing that never ran (its connection went away, or it is unknown). */
    static FiringResult refused(Engine engine, FiringHandle h, Engine.Entry e, String why) {
        Instant now = engine.clock().instant();
        return new FiringResult(h.id(), h.connectionId(), Engine.name(e), h.cause(), now, now, Outcome.FAILED, why,
                MailCounts.NONE, List.of(), List.of(why), null, h.node());
    }

    static FiringResult refusedUnknown(Engine engine, FiringHandle h, String why) {
        Instant now = engine.clock().instant();
        return new FiringResult(h.id(), h.connectionId(), h.connectionId(), h.cause(), now, now, Outcome.FAILED,
                why, MailCounts.NONE, List.of(), List.of(why), null, h.node());
    }

    private final class Ctx implements LinkContext {
        private final Settings settings;

        Ctx(Settings settings) {
            this.settings = settings;
        }

        @Override
        public String connectionId() {
            return id;
        }

        @Override
        public String connectionName() {
            return name;
        }

        @Override
        public String firingId() {
            return handle.id();
        }

        @Override
        public Settings settings() {
            return settings;
        }

        @Override
        public void progress(String msg) {
            FiringRun.this.progress(msg, 0, -1);
        }
    }

    /**
     * One collector's run on the engine's shared threads; it holds a slot of {@link CollectorSlots}, which it
     * gives back when it ends. {@link #abandon} interrupts it while it runs (only this run, never a later task of
     * the same thread) and makes it return at once if it has not started.
     */
    private final class CollectTask implements java.util.concurrent.Callable<CollectReport> {
        private final MailCollector mc;
        private final CollectorSlots slots;
        private final boolean alone;
        private Thread thread;
        private boolean abandoned;

        CollectTask(MailCollector mc, CollectorSlots slots, boolean alone) {
            this.mc = mc;
            this.slots = slots;
            this.alone = alone;
        }

        @Override
        public CollectReport call() {
            Thread t = Thread.currentThread();
            String was = t.getName();
            try {
                synchronized (this) {
                    if (abandoned) {
                        return new CollectReport(mc.id(), 0, 0, List.of("not run: the firing stopped"));
                    }
                    thread = t;
                }
                t.setName("uplink-collect-" + id);
                if (stopped() || !linkUp()) {
                    return new CollectReport(mc.id(), 0, 0, List.of("not run: the firing stopped or the link went down"));
                }
                return mc.collect(new Tasks(Phase.COLLECT, mc.id(), alone));
            } catch (InterruptedException e) {
                return new CollectReport(mc.id(), 0, 0, List.of("collector '" + mc.id() + "' failed: " + e));
            } catch (RuntimeException e) {
                LOG.warn("connection '{}': collector '{}' failed", id, mc.id(), e);
                return new CollectReport(mc.id(), 0, 0, List.of("collector '" + mc.id() + "' failed: " + e));
            } finally {
                synchronized (this) {
                    thread = null;
                }
                // an interrupt meant for this run must not reach the thread's next task
                Thread.interrupted();
                t.setName(was);
                slots.release();
            }
        }

        synchronized void abandon() {
            abandoned = true;
            if (thread != null) {
                thread.interrupt();
            }
        }
    }

    private final class Tasks implements TaskContext {
        private final Phase taskPhase;
        private final String prefix;
        /** Whether this task is its phase's only one: then its end is the phase's, and is always posted. */
        private final boolean alone;

        Tasks(Phase taskPhase, String collectorId) {
            this(taskPhase, collectorId, true);
        }

        Tasks(Phase taskPhase, String collectorId, boolean alone) {
            this.taskPhase = taskPhase;
            this.prefix = collectorId == null ? "" : collectorId + ": ";
            this.alone = alone;
        }

        @Override
        public String connectionId() {
            return id;
        }

        @Override
        public String connectionName() {
            return name;
        }

        @Override
        public String firingId() {
            return handle.id();
        }

        @Override
        public boolean linkUp() {
            return FiringRun.this.linkUp();
        }

        @Override
        public Optional<Duration> timeLeft() {
            return FiringRun.this.timeLeft();
        }

        @Override
        public void progress(String msg, int done, int total) {
            if (phase == taskPhase) {
                FiringRun.this.progress(prefix + msg, done, total, alone);
            }
        }
    }
}

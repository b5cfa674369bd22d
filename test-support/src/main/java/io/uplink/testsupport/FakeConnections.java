package io.uplink.testsupport;

import io.uplink.api.ConnectionService;
import io.uplink.api.ConnectionState;
import io.uplink.api.ConnectionStatus;
import io.uplink.api.Firing;
import io.uplink.api.FiringResult;
import io.uplink.api.MailCounts;
import io.uplink.api.MethodInfo;
import io.uplink.api.NoSuchConnectionException;
import io.uplink.api.Outcome;
import io.uplink.api.Progress;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * A small in-memory ConnectionService: connections are statuses put in by the test, every fire is recorded as
 * {@code "<id> <cause>"} (and {@code "defaults <cause>"}), and a fired connection gets the firing scripted for it,
 * which moves through its steps as the caller waits, or else a firing already ended OK.
 */
public class FakeConnections implements ConnectionService {

    public static final Instant T0 = Instant.parse("2026-03-01T08:00:00Z");

    public final Map<String, ConnectionStatus> statuses = new TreeMap<>();
    public final Map<String, ScriptedFiring> next = new TreeMap<>();
    public final List<String> fired = new ArrayList<>();
    /** Every fire that named a schedule's slot, as {@code "<id> @<slot>"} (and {@code "defaults @<slot>"}). */
    public final List<String> slots = new ArrayList<>();
    public final List<String> hungUp = new ArrayList<>();
    public final List<FiringResult> history = new ArrayList<>();
    public final List<MethodInfo> methods = new ArrayList<>();
    private int firingIds;

    public static ConnectionStatus status(String id, ConnectionState state, Progress progress, FiringResult last) {
        return new ConnectionStatus(id, id + " name", "network", false, 0, state, "", "io.uplink.connection-" + id + ".cfg",
                "", List.of(), "", progress, last, List.of(), Map.of("method", "network"));
    }

    public static FiringResult result(String firingId, String id, Outcome outcome, long millis, String summary,
            FiringResult fallback) {
        return new FiringResult(firingId, id, id + " name", "shell", T0, T0.plusMillis(millis), outcome, summary,
                MailCounts.NONE, List.of(), List.of(), fallback);
    }

    public FakeConnections add(String id) {
        return add(id, false);
    }

    /** An idle connection, marked default or not; it takes its place in the firing order of defaults. */
    public FakeConnections add(String id, boolean isDefault) {
        ConnectionStatus s = status(id, ConnectionState.IDLE, null, null);
        int order = statuses.containsKey(id) ? statuses.get(id).order() : statuses.size();
        statuses.put(id, with(s, isDefault, order, s.state(), s.settings()));
        return this;
    }

    /** Puts the connection in another state (for code that looks at whether it is online). */
    public void state(String id, ConnectionState state) {
        ConnectionStatus s = statuses.get(id);
        statuses.put(id, with(s, s.isDefault(), s.order(), state, s.settings()));
    }

    /** Gives the connection these settings, as its status shows them. */
    public void settings(String id, Map<String, String> settings) {
        ConnectionStatus s = statuses.get(id);
        statuses.put(id, with(s, s.isDefault(), s.order(), s.state(), settings));
    }

    private static ConnectionStatus with(ConnectionStatus s, boolean isDefault, int order, ConnectionState state,
            Map<String, String> settings) {
        return new ConnectionStatus(s.id(), s.name(), s.method(), isDefault, order, state, s.reason(), s.file(),
                s.sender(), s.collectors(), s.fallback(), s.progress(), s.lastResult(), s.problems(), settings);
    }

    /** The firing the next fire of {@code id} returns: it ends with {@code result} after the given steps. */
    public ScriptedFiring script(String id, FiringResult result) {
        ScriptedFiring f = new ScriptedFiring("f" + (++firingIds), id, result);
        next.put(id, f);
        return f;
    }

    @Override
    public List<ConnectionStatus> list() {
        return new ArrayList<>(statuses.values());
    }

    @Override
    public Optional<ConnectionStatus> status(String id) {
        return Optional.ofNullable(statuses.get(id));
    }

    @Override
    public synchronized Firing fire(String id, String cause) {
        if (!statuses.containsKey(id)) {
            throw new NoSuchConnectionException(id);
        }
        fired.add(id + " " + cause);
        return firingOf(id, cause);
    }

    @Override
    public synchronized Firing fire(String id, String cause, Instant slot) {
        Firing f = fire(id, cause);
        if (slot != null) {
            slots.add(id + " @" + slot);
        }
        return f;
    }

    @Override
    public synchronized List<Firing> fireDefaults(String cause, Instant slot) {
        List<Firing> out = fireDefaults(cause);
        if (slot != null) {
            slots.add("defaults @" + slot);
        }
        return out;
    }

    /** Records one {@code "defaults <cause>"} and returns the firings of the default connections, by order. */
    @Override
    public synchronized List<Firing> fireDefaults(String cause) {
        fired.add("defaults " + cause);
        List<Firing> out = new ArrayList<>();
        statuses.values().stream().filter(ConnectionStatus::isDefault)
                .sorted(java.util.Comparator.comparingInt(ConnectionStatus::order))
                .forEach(s -> out.add(firingOf(s.id(), cause)));
        return out;
    }

    private Firing firingOf(String id, String cause) {
        ScriptedFiring f = next.get(id);
        if (f != null) {
            return f;
        }
        FiringResult ok = new FiringResult("f" + (++firingIds), id, statuses.get(id).name(), cause, T0, T0,
                Outcome.OK, "", MailCounts.NONE, List.of(), List.of(), null);
        ScriptedFiring ended = new ScriptedFiring(ok.firingId(), id, ok);
        ended.done.complete(ok);
        return ended;
    }

    @Override
    public boolean hangup(String id) {
        if (!statuses.containsKey(id)) {
            throw new NoSuchConnectionException(id);
        }
        hungUp.add(id);
        return true;
    }

    @Override
    public List<FiringResult> history(String id, int limit) {
        return history.stream().filter(r -> id == null || r.connectionId().equals(id)).limit(limit).toList();
    }

    @Override
    public List<MethodInfo> methods() {
        return methods;
    }

    /** A firing that ends after the waiter has polled through its steps; each step changes the connection's status. */
    public class ScriptedFiring implements Firing {
        private final String id;
        private final String connectionId;
        private final FiringResult result;
        private final Deque<Consumer<FakeConnections>> steps = new ArrayDeque<>();
        private final CompletableFuture<FiringResult> done = new CompletableFuture<>();
        public int awaits;
        public Runnable onAwait = () -> { };
        private boolean endless;

        ScriptedFiring(String id, String connectionId, FiringResult result) {
            this.id = id;
            this.connectionId = connectionId;
            this.result = result;
        }

        /** A step during which the firing shows {@code phase message}. */
        public ScriptedFiring step(io.uplink.api.Phase phase, String message) {
            steps.add(c -> c.statuses.put(connectionId, status(connectionId, ConnectionState.SENDING,
                    new Progress(id, phase, message, 0, -1), null)));
            return this;
        }

        /** A step during which the connection is still QUEUED. */
        public ScriptedFiring queued() {
            steps.add(c -> c.statuses.put(connectionId, status(connectionId, ConnectionState.QUEUED, null, null)));
            return this;
        }

        /** A firing that never ends. */
        public ScriptedFiring forever() {
            endless = true;
            return this;
        }

        @Override
        public String id() {
            return id;
        }

        @Override
        public String connectionId() {
            return connectionId;
        }

        @Override
        public CompletionStage<FiringResult> result() {
            return done;
        }

        @Override
        public boolean isDone() {
            return done.isDone();
        }

        @Override
        public FiringResult await(Duration timeout) throws TimeoutException {
            awaits++;
            onAwait.run();
            if (done.isDone()) {
                return done.join();
            }
            if (!steps.isEmpty()) {
                steps.poll().accept(FakeConnections.this);
                throw new TimeoutException("still running");
            }
            if (endless) {
                throw new TimeoutException("never ends");
            }
            done.complete(result);
            return result;
        }
    }
}

package io.uplink.shell.internal;

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
 * A small in-memory ConnectionService for the commands' unit tests: connections are statuses put in by the
 * test, and a fired connection gets a scripted firing that moves through its steps as the command waits.
 */
public class FakeConnections implements ConnectionService {

    public static final Instant T0 = Instant.parse("2026-03-01T08:00:00Z");

    public final Map<String, ConnectionStatus> statuses = new TreeMap<>();
    public final Map<String, ScriptedFiring> next = new TreeMap<>();
    public final List<String> fired = new ArrayList<>();
    public final List<String> hungUp = new ArrayList<>();
    public final List<FiringResult> history = new ArrayList<>();
    public final List<MethodInfo> methods = new ArrayList<>();
    public List<String> defaults = List.of();
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

    public void add(String id) {
        statuses.put(id, status(id, ConnectionState.IDLE, null, null));
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
    public Firing fire(String id, String cause) {
        if (!statuses.containsKey(id)) {
            throw new NoSuchConnectionException(id);
        }
        fired.add(id + ":" + cause);
        ScriptedFiring f = next.get(id);
        if (f == null) {
            throw new AssertionError("the test did not script a firing of " + id);
        }
        return f;
    }

    @Override
    public List<Firing> fireDefaults(String cause) {
        List<Firing> out = new ArrayList<>();
        for (String id : defaults) {
            out.add(fire(id, cause));
        }
        return out;
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

package io.uplink.scheduler.internal;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import io.uplink.api.ConnectionService;
import io.uplink.api.ConnectionState;
import io.uplink.api.ConnectionStatus;
import io.uplink.api.Firing;
import io.uplink.api.FiringResult;
import io.uplink.api.MethodInfo;
import io.uplink.api.NoSuchConnectionException;
import io.uplink.api.config.Settings;

/** A clock that tests move, settings from key/value pairs, and a connection service that records fires. */
final class TestKit {

    private TestKit() {
    }

    static final class MovableClock extends Clock {
        private Instant now;

        MovableClock(Instant start) {
            now = start;
        }

        void set(Instant t) {
            now = t;
        }

        void move(Duration d) {
            now = now.plus(d);
        }

        @Override
        public Instant instant() {
            return now;
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }
    }

    /** Settings of {@code etc/io.uplink.schedule-<id>.cfg} holding {@code keyValues}. */
    static Settings item(String id, String... keyValues) {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put(Settings.FILEINSTALL_FILENAME, "file:/opt/uplink/etc/io.uplink.schedule-" + id + ".cfg");
        p.put("service.pid", "io.uplink.schedule~" + id);
        for (int i = 0; i < keyValues.length; i += 2) {
            p.put(keyValues[i], keyValues[i + 1]);
        }
        return Settings.of("schedule", "io.uplink.schedule", p);
    }

    /** Records what was fired; fires of unknown connections fail as the core's do. */
    static final class RecordingConnections implements ConnectionService {
        final Map<String, Boolean> connections = new LinkedHashMap<>();
        final Map<String, ConnectionState> states = new HashMap<>();
        final Map<String, Map<String, String>> settings = new HashMap<>();
        final List<String> fired = new ArrayList<>();

        RecordingConnections add(String id, boolean isDefault) {
            connections.put(id, isDefault);
            return this;
        }

        @Override
        public List<ConnectionStatus> list() {
            List<ConnectionStatus> out = new ArrayList<>();
            int order = 0;
            for (Map.Entry<String, Boolean> c : connections.entrySet()) {
                out.add(new ConnectionStatus(c.getKey(), c.getKey(), "network", c.getValue(), order++,
                        states.getOrDefault(c.getKey(), ConnectionState.IDLE), "", "", "", List.of(), "", null, null,
                        List.of(), settings.getOrDefault(c.getKey(), Map.of())));
            }
            return out;
        }

        @Override
        public Optional<ConnectionStatus> status(String id) {
            return list().stream().filter(c -> c.id().equals(id)).findFirst();
        }

        @Override
        public synchronized Firing fire(String id, String cause) {
            if (!connections.containsKey(id)) {
                throw new NoSuchConnectionException(id);
            }
            fired.add(id + " " + cause);
            return new DoneFiring(id);
        }

        @Override
        public synchronized List<Firing> fireDefaults(String cause) {
            fired.add("defaults " + cause);
            return List.of();
        }

        @Override
        public boolean hangup(String id) {
            return false;
        }

        @Override
        public List<FiringResult> history(String id, int limit) {
            return List.of();
        }

        @Override
        public List<MethodInfo> methods() {
            return List.of();
        }
    }

    private record DoneFiring(String connectionId) implements Firing {
        @Override
        public String id() {
            return "f-" + connectionId;
        }

        @Override
        public CompletionStage<FiringResult> result() {
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public boolean isDone() {
            return true;
        }

        @Override
        public FiringResult await(Duration timeout) {
            return null;
        }
    }

    /** Arms jobs in a table; the test runs the ones that are due. */
    static final class TableArming implements Scheduling.Arming {
        final Map<String, Instant> at = new HashMap<>();
        final Map<String, Runnable> jobs = new HashMap<>();

        @Override
        public void arm(String name, Instant when, Runnable job) {
            at.put(name, when);
            jobs.put(name, job);
        }

        @Override
        public void disarm(String name) {
            at.remove(name);
            jobs.remove(name);
        }

        /** Runs every job due at or before {@code now}, earliest first, as the Karaf Scheduler would. */
        void runDue(Instant now) {
            while (true) {
                String next = null;
                for (Map.Entry<String, Instant> e : at.entrySet()) {
                    if (!e.getValue().isAfter(now) && (next == null || e.getValue().isBefore(at.get(next)))) {
                        next = e.getKey();
                    }
                }
                if (next == null) {
                    return;
                }
                Runnable job = jobs.remove(next);
                at.remove(next);
                job.run();
            }
        }
    }
}

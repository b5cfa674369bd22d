package io.uplink.method.dialup.internal;

import io.uplink.api.config.Settings;
import io.uplink.api.method.LinkContext;
import io.uplink.method.dialup.testing.PtyPair;
import io.uplink.method.dialup.testing.ScriptedModem;
import io.uplink.testsupport.MovableClock;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.rules.ExternalResource;
import org.junit.rules.TemporaryFolder;

/** A socat pty pair, the scripted modem on it, a lock directory and a movable clock, per test. */
final class ModemFixture extends ExternalResource {

    final TemporaryFolder tmp;
    PtyPair pair;
    ScriptedModem modem;
    Path lockDir;
    MovableClock clock;
    DialupMethod method;

    ModemFixture(TemporaryFolder tmp) {
        this.tmp = tmp;
    }

    @Override
    protected void before() throws Throwable {
        pair = PtyPair.open(tmp.getRoot().toPath().resolve("pty"));
        modem = ScriptedModem.serve(pair.modem());
        lockDir = Files.createDirectories(tmp.getRoot().toPath().resolve("lock"));
        clock = new MovableClock(Instant.parse("2026-01-05T09:00:00Z"));
        method = new DialupMethod(clockwork(clock));
        method.activate(Map.of());
    }

    @Override
    protected void after() {
        try {
            method.deactivate();
            modem.close();
            pair.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        clock.close();
    }

    /** The dialler's time on a clock the test moves: its sleeps return at once, its timers run when moved past. */
    static Clockwork clockwork(MovableClock clock) {
        return new Clockwork() {
            @Override
            public Instant now() {
                return clock.instant();
            }

            @Override
            public void sleep(Duration duration) throws InterruptedException {
                clock.sleep(duration);
            }

            @Override
            public Runnable schedule(Duration delay, Runnable task) {
                return clock.schedule(delay, task);
            }
        };
    }

    /** Settings of connection {@code id} on the fixture's modem, dialling {@code number}, plus extra key/values. */
    Settings settings(String id, String number, String... extra) {
        Map<String, Object> p = new HashMap<>();
        p.put(Settings.FILEINSTALL_FILENAME, "file:/etc/io.uplink.connection-" + id + ".cfg");
        p.put("name", "Modem " + id);
        p.put("method", "dialup");
        p.put("dialup.port", pair.line().toString());
        p.put("dialup.number", number);
        p.put("dialup.lockDir", lockDir.toString());
        p.put("dialup.retries", "0");
        for (int i = 0; i < extra.length; i += 2) {
            p.put(extra[i], extra[i + 1]);
        }
        return Settings.of("connection", "io.uplink.connection", p);
    }

    Path lockFile() {
        return lockDir.resolve(UucpLock.lockName(pair.line().toString()));
    }

    /** A LinkContext that records the progress lines. */
    static final class Context implements LinkContext {
        final Settings settings;
        final List<String> progress = new ArrayList<>();

        Context(Settings settings) {
            this.settings = settings;
        }

        @Override
        public String connectionId() {
            return settings.id();
        }

        @Override
        public String connectionName() {
            return settings.string("name", settings.id());
        }

        @Override
        public String firingId() {
            return "f1";
        }

        @Override
        public Settings settings() {
            return settings;
        }

        @Override
        public synchronized void progress(String message) {
            progress.add(message);
        }

        synchronized List<String> progress() {
            return List.copyOf(progress);
        }
    }
}

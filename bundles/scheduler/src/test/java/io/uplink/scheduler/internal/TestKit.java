package io.uplink.scheduler.internal;

import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

import io.uplink.api.config.Settings;

/** Settings from key/value pairs, and a table of armed jobs the test runs. */
final class TestKit {

    private TestKit() {
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

package io.uplink.web.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import io.uplink.api.Events;
import io.uplink.testsupport.MovableClock;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** Events become log lines, recent entries and a live feed; log files rotate. */
public class ActivityTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private final MovableClock clock = new MovableClock(Instant.parse("2026-03-01T08:00:00Z"));

    private Activity activity(long maxBytes) throws Exception {
        return new Activity(clock, new ActivityLog(tmp.getRoot().toPath().resolve("log"), maxBytes, 2));
    }

    private static Map<String, Object> ev(String id, Object... kv) {
        Map<String, Object> m = new java.util.HashMap<>();
        m.put(Events.CONNECTION_ID, id);
        m.put(Events.FIRING_ID, "f1");
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    @Test
    public void eventsBecomeLinesProgressStaysOutOfTheFile() throws Exception {
        Activity a = activity(1 << 20);
        a.onEvent(Events.FIRED, ev("office", Events.CAUSE, "web:karaf"));
        a.onEvent(Events.PHASE_STARTED, ev("office", Events.PHASE, "SEND"));
        a.onEvent(Events.PROGRESS, ev("office", Events.PHASE, "SEND", Events.MESSAGE, "sending", Events.DONE, 2, Events.TOTAL, 5));
        a.onEvent(Events.SENT, ev("office", Events.SENT_COUNT, 5, Events.DEFERRED_COUNT, 0, Events.FAILED_COUNT, 0));
        a.onEvent(Events.DISCONNECTED, ev("office", Events.OUTCOME, "OK", Events.DURATION_MS, 1500L, Events.MESSAGE, "sent 5"));
        List<String> lines = a.log().tail("office", 100);
        assertEquals(List.of(
                "2026-03-01T08:00:00Z FIRED [f1] fired by web:karaf",
                "2026-03-01T08:00:00Z PHASE [f1] phase SEND",
                "2026-03-01T08:00:00Z SENT [f1] sent 5, deferred 0, failed 0",
                "2026-03-01T08:00:00Z DISCONNECTED [f1] disconnected, OK in 1.5s: sent 5"), lines);
        List<ActivityEntry> recent = a.recent("office", 0, 100);
        assertEquals(5, recent.size());
        assertEquals("SEND: sending (2/5)", recent.get(2).text());
        assertTrue(a.recent("other", 0, 100).isEmpty());
    }

    @Test
    public void aSubscriberGetsWhatItMissedThenNewEntriesInOrder() throws Exception {
        Activity a = activity(1 << 20);
        a.onEvent(Events.FIRED, ev("office"));
        a.onEvent(Events.CONNECTED, ev("office"));
        List<Long> seen = new ArrayList<>();
        Runnable stop = a.subscribe(1, e -> seen.add(e.seq()));
        a.onEvent(Events.DISCONNECTED, ev("office", Events.OUTCOME, "OK"));
        stop.run();
        a.onEvent(Events.FIRED, ev("office"));
        assertEquals(List.of(2L, 3L), seen);
        List<Long> fresh = new ArrayList<>();
        a.subscribe(Long.MAX_VALUE, e -> fresh.add(e.seq()));
        assertTrue("a fresh subscriber starts with the present", fresh.isEmpty());
    }

    @Test
    public void logsRotateAndTailReadsAcrossFiles() throws Exception {
        Activity a = activity(200);
        for (int i = 0; i < 40; i++) {
            a.onEvent(Events.STATE, ev("office", Events.STATE_NAME, "S" + i));
        }
        Path dir = tmp.getRoot().toPath().resolve("log");
        try (Stream<Path> files = Files.list(dir)) {
            List<String> names = files.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
            assertEquals(List.of("office.log", "office.log.1", "office.log.2"), names);
        }
        List<String> tail = a.log().tail("office", 3);
        assertEquals(3, tail.size());
        assertTrue(tail.get(2), tail.get(2).endsWith("state S39"));
        assertTrue(tail.get(0), tail.get(0).endsWith("state S37"));
        assertFalse(a.log().tail("office", 1000).stream().anyMatch(l -> l.endsWith("state S0")));
    }

    @Test
    public void anIdCannotLeaveTheLogFolder() throws Exception {
        ActivityLog log = new ActivityLog(tmp.getRoot().toPath().resolve("log"), 1000, 1);
        assertEquals(log.dir(), log.file("../../etc/passwd").getParent());
        assertEquals(log.dir(), log.file("..").getParent());
        assertFalse(log.file("..").getFileName().toString().startsWith(".."));
    }
}

package io.uplink.scheduler.internal;

import static io.uplink.scheduler.internal.TestKit.item;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import io.uplink.api.ConnectionState;
import io.uplink.api.mail.Outbox;
import io.uplink.api.schedule.ScheduleItemStatus;
import io.uplink.scheduler.internal.TestKit.TableArming;
import io.uplink.testsupport.FakeConnections;
import io.uplink.testsupport.MemoryOutbox;
import io.uplink.testsupport.MovableClock;

/** The schedule at work over a movable clock: arming, one firing per instant, catch-up, pause, hot reload. */
public class SchedulingTest {

    private static final ZoneId UTC = ZoneId.of("UTC");

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private final MovableClock clock = new MovableClock(Instant.parse("2025-01-10T09:50:00Z"));
    private final FakeConnections connections = new FakeConnections()
            .add("office", true).add("modem", false).add("backup", true);
    private final TableArming arming = new TableArming();
    private final AtomicReference<Outbox> outbox = new AtomicReference<>();
    private Path state;

    @Before
    public void setUp() throws Exception {
        state = tmp.newFolder("state").toPath();
    }

    private Scheduling start() {
        return new Scheduling(connections, arming, clock, UTC, new ScheduleState(state), Runnable::run, outbox::get);
    }

    private void runUntil(Instant t) {
        while (true) {
            Instant next = arming.at.values().stream().min(Instant::compareTo).orElse(null);
            if (next == null || next.isAfter(t)) {
                clock.set(t);
                return;
            }
            clock.set(next);
            arming.runDue(next);
        }
    }

    @Test
    public void armsUnderStableNameAndFiresOnTime() {
        Scheduling s = start();
        s.put(item("work", "connections", "modem", "every", "15m"));
        assertEquals(Instant.parse("2025-01-10T10:00:00Z"), arming.at.get("uplink.schedule.work"));
        runUntil(Instant.parse("2025-01-10T10:31:00Z"));
        assertEquals(List.of("modem schedule:work", "modem schedule:work", "modem schedule:work"), connections.fired);
        assertEquals(Instant.parse("2025-01-10T10:45:00Z"), arming.at.get("uplink.schedule.work"));
    }

    /** "Due" for live delivery (IMAP IDLE): inside a window on an allowed day, no deny, not paused. */
    @Test
    public void dueFollowsWindowsDaysDenyAndPause() {
        Scheduling s = start();
        s.put(item("work", "connections", "modem", "every", "15m", "between", "08:00-18:00", "days", "MON-FRI"));
        s.put(item("night", "connections", "default", "every", "1h", "between", "22:00-02:00"));
        s.put(item("lunch", "connections", "deny", "between", "12:00-13:00"));
        clock.set(Instant.parse("2025-01-10T09:50:00Z")); // a Friday
        assertTrue(s.due("modem"));
        assertFalse("a default connection outside its item's window", s.due("office"));
        assertFalse("no item aims at it", s.due("nowhere"));
        clock.set(Instant.parse("2025-01-10T12:30:00Z"));
        assertFalse("inside a deny window", s.due("modem"));
        clock.set(Instant.parse("2025-01-10T18:30:00Z"));
        assertFalse("after the window closed", s.due("modem"));
        clock.set(Instant.parse("2025-01-11T10:00:00Z")); // Saturday
        assertFalse("not an allowed day", s.due("modem"));
        clock.set(Instant.parse("2025-01-11T01:30:00Z"));
        assertTrue("a window spanning midnight, through default", s.due("office"));
        clock.set(Instant.parse("2025-01-10T10:00:00Z"));
        s.pause();
        assertFalse("paused", s.due("modem"));
        s.resume();
        assertTrue(s.due("modem"));
        s.put(item("work", "connections", "modem", "every", "15m", "between", "08:00-18:00", "enabled", "false"));
        assertFalse("its item is disabled", s.due("modem"));
        s.put(item("twice", "connections", "modem", "at", "07:00", "days", "FRI"));
        assertTrue("an at item covers its whole day", s.due("modem"));
    }

    @Test
    public void severalItemsOnOneConnectionAtOneInstantFireOnce() {
        Scheduling s = start();
        s.put(item("a", "connections", "modem", "every", "15m"));
        s.put(item("b", "connections", "modem, office", "every", "30m"));
        s.put(item("c", "connections", "default", "every", "1h"));
        runUntil(Instant.parse("2025-01-10T10:00:00Z"));
        assertEquals("at 10:00: defaults once (office, backup), modem once",
                List.of("defaults schedule:c", "modem schedule:a"), connections.fired);
        assertEquals("each fire names its slot, so that a cluster fires it once however many nodes ask",
                List.of("defaults @2025-01-10T10:00:00Z", "modem @2025-01-10T10:00:00Z"), connections.slots);
        connections.fired.clear();
        runUntil(Instant.parse("2025-01-10T10:15:00Z"));
        assertEquals(List.of("modem schedule:a"), connections.fired);
        connections.fired.clear();
        runUntil(Instant.parse("2025-01-10T10:30:00Z"));
        assertEquals(List.of("modem schedule:a", "office schedule:b"), connections.fired);
    }

    @Test
    public void denyWindowBlocksAndHotReloadRearmsAtOnce() {
        Scheduling s = start();
        s.put(item("work", "connections", "modem", "every", "5m"));
        s.put(item("lunch", "connections", "deny", "between", "10:00-10:30"));
        runUntil(Instant.parse("2025-01-10T09:56:00Z"));
        assertEquals(List.of("modem schedule:work"), connections.fired);
        assertEquals("armed past the deny window", Instant.parse("2025-01-10T10:35:00Z"),
                arming.at.get("uplink.schedule.work"));
        s.put(item("lunch", "connections", "deny", "between", "12:00-13:00"));
        assertEquals("a changed deny window re-arms the others", Instant.parse("2025-01-10T10:00:00Z"),
                arming.at.get("uplink.schedule.work"));
        s.put(item("lunch", "connections", "deny", "between", "09:00-10:00"));
        s.put(item("work", "connections", "modem", "every", "1h"));
        assertEquals(Instant.parse("2025-01-10T11:00:00Z"), arming.at.get("uplink.schedule.work"));
        s.remove("work", true);
        assertNull(arming.at.get("uplink.schedule.work"));
        runUntil(Instant.parse("2025-01-10T12:00:00Z"));
        assertEquals(1, connections.fired.size());
    }

    @Test
    public void aMisspeltKeyIsAWarningAndTheItemStillFires() {
        Scheduling s = start();
        s.put(item("work", "connections", "modem", "every", "15m", "betwen", "08:00-18:00"));
        ScheduleItemStatus st = s.items().get(0);
        assertEquals("ACTIVE", st.state());
        assertEquals("unknown key 'betwen' in io.uplink.schedule-work.cfg; did you mean 'between'?", st.reason());
        s.put(item("strict", "connections", "modem", "every", "15m", "enabled", "yes"));
        assertEquals("ERROR", s.items().stream().filter(i -> i.id().equals("strict")).findFirst().orElseThrow().state());
    }

    @Test
    public void badItemIsErrorAndOthersKeepRunning() {
        Scheduling s = start();
        s.put(item("bad", "connections", "modem", "every", "15m", "days", "MOONDAY"));
        s.put(item("good", "connections", "modem", "every", "15m"));
        ScheduleItemStatus bad = s.items().get(0);
        assertEquals("ERROR", bad.state());
        assertTrue(bad.reason(), bad.reason().contains("io.uplink.schedule-bad.cfg")
                && bad.reason().contains("'days'") && bad.reason().contains("MOONDAY"));
        assertNull(arming.at.get("uplink.schedule.bad"));
        runUntil(Instant.parse("2025-01-10T10:00:00Z"));
        assertEquals(List.of("modem schedule:good"), connections.fired);
        assertEquals("ACTIVE", s.items().get(1).state());
        assertEquals(Instant.parse("2025-01-10T10:15:00Z"), s.items().get(1).nextFiring());
        assertEquals(Instant.parse("2025-01-10T10:00:00Z"), s.items().get(1).lastFiring());
    }

    @Test
    public void missedFiringsCatchUpOnceAfterDowntime() {
        Scheduling s = start();
        s.put(item("work", "connections", "modem", "every", "1h"));
        s.put(item("other", "connections", "modem", "at", "10:00"));
        runUntil(Instant.parse("2025-01-10T10:00:00Z"));
        assertEquals(1, connections.fired.size());
        s.stop();

        // down for five hours: five missed slots of 'work', one of 'other'; one firing of modem on start
        clock.set(Instant.parse("2025-01-10T15:20:00Z"));
        connections.fired.clear();
        Scheduling again = start();
        again.put(item("work", "connections", "modem", "every", "1h"));
        again.put(item("other", "connections", "modem", "at", "10:00"));
        again.put(item("fresh", "connections", "office", "every", "1h"));
        Instant catchUp = Instant.parse("2025-01-10T15:20:00Z").plus(Scheduling.CATCH_UP_DELAY);
        assertEquals(catchUp, arming.at.get("uplink.schedule.work"));
        assertEquals("'other' missed nothing (10:00 fired before the stop)", Instant.parse("2025-01-11T10:00:00Z"),
                arming.at.get("uplink.schedule.other"));
        assertEquals("a new item does not catch up", Instant.parse("2025-01-10T16:00:00Z"),
                arming.at.get("uplink.schedule.fresh"));
        runUntil(Instant.parse("2025-01-10T15:59:00Z"));
        assertEquals(List.of("modem schedule:work"), connections.fired);
        assertEquals(Instant.parse("2025-01-10T16:00:00Z"), arming.at.get("uplink.schedule.work"));
    }

    @Test
    public void pauseSurvivesRestartAndResumeRearms() {
        Scheduling s = start();
        s.put(item("work", "connections", "modem", "every", "15m"));
        s.pause();
        assertTrue(arming.at.isEmpty());
        assertEquals("PAUSED", s.items().get(0).state());
        assertTrue(s.next(5).isEmpty());
        s.stop();

        Scheduling again = start();
        again.put(item("work", "connections", "modem", "every", "15m"));
        assertTrue(again.isPaused());
        runUntil(Instant.parse("2025-01-10T11:00:00Z"));
        assertTrue(connections.fired.isEmpty());
        again.resume();
        assertFalse(again.isPaused());
        assertEquals(Instant.parse("2025-01-10T11:15:00Z"), arming.at.get("uplink.schedule.work"));
        assertEquals(Instant.parse("2025-01-10T11:15:00Z"), again.nextFiring("modem").orElseThrow());
        assertEquals(Instant.parse("2025-01-10T11:15:00Z"), again.next(1).get(0).time());
    }

    @Test
    public void minWaitingWithoutOutboxSaysSoAndWithOneCounts() {
        Scheduling s = start();
        s.put(item("bulk", "connections", "modem", "every", "15m", "minWaiting", "3"));
        ScheduleItemStatus st = s.items().get(0);
        assertEquals("WAITING", st.state());
        assertTrue(st.reason(), st.reason().contains("outgoing queue"));
        assertNull(arming.at.get("uplink.schedule.bulk"));

        MemoryOutbox box = new MemoryOutbox();
        outbox.set(box);
        s.outboxChanged();
        assertEquals("ACTIVE", s.items().get(0).state());
        box.setSize(2);
        runUntil(Instant.parse("2025-01-10T10:00:00Z"));
        assertTrue("two waiting, fewer than three", connections.fired.isEmpty());
        box.setSize(3);
        runUntil(Instant.parse("2025-01-10T10:15:00Z"));
        assertEquals(List.of("modem schedule:bulk"), connections.fired);
    }

    @Test
    public void triggerFileFiresDefaultsAndIsRemoved() throws Exception {
        Scheduling s = start();
        Path data = tmp.newFolder("uplink").toPath();
        Triggers t = new Triggers(connections, outbox::get, clock, data, s::blockedNow);
        assertFalse(t.checkTriggerFile());
        Files.writeString(data.resolve("connect.now"), "");
        s.pause(); // a person's request: works while paused
        assertTrue(t.checkTriggerFile());
        assertFalse(Files.exists(data.resolve("connect.now")));
        assertEquals(List.of("defaults connect.now"), connections.fired);
    }

    @Test
    public void priorityMailFiresDefaultsAtMostOnceAMinute() {
        Scheduling s = start();
        MemoryOutbox box = new MemoryOutbox();
        outbox.set(box);
        Triggers t = new Triggers(connections, outbox::get, clock, tmp.getRoot().toPath(), s::blockedNow);
        t.checkOutbox(); // first look: what is there is not news
        box.add("m1", true);
        t.checkOutbox();
        assertEquals(List.of("defaults priority-mail"), connections.fired);
        clock.advance(Duration.ofSeconds(10));
        box.add("m2", true);
        t.checkOutbox();
        assertEquals("not twice within a minute", 1, connections.fired.size());
        clock.advance(Duration.ofSeconds(51));
        t.checkOutbox();
        assertEquals("the held-back one fires when the minute is over", 2, connections.fired.size());
        box.add("m3", false);
        clock.advance(Duration.ofMinutes(5));
        t.checkOutbox();
        assertEquals("ordinary mail waits for the schedule", 2, connections.fired.size());
    }

    @Test
    public void sendImmediatelyFiresAnOnlineConnectionAgain() {
        Scheduling s = start();
        MemoryOutbox box = new MemoryOutbox();
        outbox.set(box);
        connections.settings("modem", Map.of("sendImmediately", "true"));
        Triggers t = new Triggers(connections, outbox::get, clock, tmp.getRoot().toPath(), s::blockedNow);
        t.checkOutbox();
        box.add("m1", false);
        t.checkOutbox();
        assertTrue("modem is idle: left to the schedule", connections.fired.isEmpty());
        connections.state("modem", ConnectionState.COLLECTING);
        box.add("m2", false);
        t.checkOutbox();
        assertEquals(List.of("modem send-immediately"), connections.fired);
        connections.fired.clear();
        clock.advance(Duration.ofMinutes(2));
        connections.state("modem", ConnectionState.REMOTE);
        box.add("m3", false);
        t.checkOutbox();
        assertEquals("in a cluster, firing on another node counts as online", List.of("modem send-immediately"),
                connections.fired);
    }
}

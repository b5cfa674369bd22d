package io.uplink.scheduler.internal;

import static io.uplink.scheduler.internal.TestKit.item;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.junit.Test;

import io.uplink.api.config.ConfigException;

/** The next-firing calculation: windows, midnight spans, days, at-times, cron, zones and DST. */
public class NextFiringTest {

    private static final ZoneId LONDON = ZoneId.of("Europe/London");
    private static final ZoneId NEW_YORK = ZoneId.of("America/New_York");

    private static ScheduleItem parse(String id, String... kv) {
        return ScheduleItem.parse(item(id, kv), LONDON);
    }

    private static Instant london(String local) {
        return ZonedDateTime.of(LocalDateTime.parse(local), LONDON).toInstant();
    }

    private static String local(Instant t, ZoneId zone) {
        return ZonedDateTime.ofInstant(t, zone).toLocalDateTime().toString();
    }

    @Test
    public void everyWithinWindowOnWorkdays() {
        ScheduleItem i = parse("work", "connections", "default", "every", "15m", "between", "08:00-18:00",
                "days", "MON-FRI");
        // 2025-01-10 is a Friday
        assertEquals("2025-01-10T08:00", local(i.nextAfter(london("2025-01-10T07:01")), LONDON));
        assertEquals("2025-01-10T08:15", local(i.nextAfter(london("2025-01-10T08:00")), LONDON));
        assertEquals("the window's end is included", "2025-01-10T18:00",
                local(i.nextAfter(london("2025-01-10T17:50")), LONDON));
        assertEquals("the weekend is skipped", "2025-01-13T08:00",
                local(i.nextAfter(london("2025-01-10T18:00")), LONDON));
        assertEquals("every 15m between 08:00-18:00 on MON-FRI", i.when());
    }

    @Test
    public void windowSpanningMidnightBelongsToTheDayItOpens() {
        ScheduleItem i = parse("night", "connections", "modem", "every", "1h", "between", "22:00-02:00", "days", "FRI");
        // Friday 2025-01-10
        assertEquals("2025-01-10T22:00", local(i.nextAfter(london("2025-01-10T12:00")), LONDON));
        assertEquals("after midnight, Friday's window goes on", "2025-01-11T01:00",
                local(i.nextAfter(london("2025-01-11T00:30")), LONDON));
        assertEquals("2025-01-11T02:00", local(i.nextAfter(london("2025-01-11T01:00")), LONDON));
        assertEquals("Saturday opens no window", "2025-01-17T22:00",
                local(i.nextAfter(london("2025-01-11T02:00")), LONDON));
    }

    @Test
    public void atTimesOnDaysAndWrappingDayRange() {
        ScheduleItem i = parse("twice", "connections", "office", "at", "12:00, 07:30", "days", "FRI-MON");
        assertEquals("2025-01-10T07:30", local(i.nextAfter(london("2025-01-09T23:00")), LONDON)); // Thu → Fri
        assertEquals("2025-01-10T12:00", local(i.nextAfter(london("2025-01-10T07:30")), LONDON));
        assertEquals("2025-01-11T07:30", local(i.nextAfter(london("2025-01-10T12:00")), LONDON));
        assertEquals("Monday is in FRI-MON", "2025-01-13T12:00", local(i.nextAfter(london("2025-01-13T07:30")), LONDON));
        assertEquals("2025-01-17T07:30", local(i.nextAfter(london("2025-01-13T12:00")), LONDON));
        assertEquals("at 07:30, 12:00 on MON,FRI-SUN", i.when());
        assertEquals("every 1h between 22:00-02:00 on SAT,SUN (UTC)", parse("w", "connections", "x", "every", "1h",
                "between", "22:00-02:00", "days", "SAT, SUN", "timezone", "UTC").when());
    }

    @Test
    public void timezoneOfTheItemApplies() {
        ScheduleItem i = parse("ny", "connections", "office", "at", "09:00", "timezone", "America/New_York");
        assertEquals(Instant.parse("2025-01-10T14:00:00Z"), i.nextAfter(Instant.parse("2025-01-10T12:00:00Z")));
    }

    @Test
    public void springForwardNeitherSkipsNorDoubles() {
        // Europe/London 2025-03-30: 01:00 GMT → 02:00 BST; 01:30 does not exist
        ScheduleItem at = parse("early", "connections", "office", "at", "01:30");
        Instant t = at.nextAfter(Instant.parse("2025-03-29T12:00:00Z"));
        assertEquals("the missing 01:30 fires when the clocks have jumped (02:30 BST)",
                Instant.parse("2025-03-30T01:30:00Z"), t);
        assertEquals(Instant.parse("2025-03-31T00:30:00Z"), at.nextAfter(t));

        ScheduleItem every = parse("often", "connections", "office", "every", "15m");
        List<Instant> slots = walk(every, Instant.parse("2025-03-29T23:59:00Z"), Instant.parse("2025-03-30T03:00:00Z"));
        assertEquals("00:00Z..03:00Z every 15 minutes of real time", 13, slots.size());
        for (int k = 1; k < slots.size(); k++) {
            assertEquals(Duration.ofMinutes(15), Duration.between(slots.get(k - 1), slots.get(k)));
        }
    }

    @Test
    public void fallBackFiresEachWallClockTimeOnce() {
        // Europe/London 2025-10-26: 02:00 BST → 01:00 GMT; 01:00-01:59 happens twice
        ScheduleItem at = parse("early", "connections", "office", "at", "01:30");
        Instant t = at.nextAfter(Instant.parse("2025-10-25T12:00:00Z"));
        assertEquals("first occurrence (BST)", Instant.parse("2025-10-26T00:30:00Z"), t);
        assertEquals("not again an hour later", Instant.parse("2025-10-27T01:30:00Z"), at.nextAfter(t));

        ScheduleItem every = parse("often", "connections", "office", "every", "15m", "between", "00:00-04:00");
        List<Instant> slots = walk(every, Instant.parse("2025-10-25T22:59:00Z"), Instant.parse("2025-10-26T04:00:00Z"));
        Set<String> wall = new HashSet<>();
        for (Instant s : slots) {
            assertTrue("wall-clock time fired twice: " + local(s, LONDON), wall.add(local(s, LONDON)));
        }
        assertEquals("00:00..04:00 inclusive, 17 wall-clock slots", 17, slots.size());
    }

    @Test
    public void newYorkSpringForward() {
        // 2025-03-09 02:00 EST → 03:00 EDT
        ScheduleItem i = parse("ny", "connections", "office", "at", "02:30", "timezone", "America/New_York");
        Instant t = i.nextAfter(Instant.parse("2025-03-08T12:00:00Z"));
        assertEquals("2025-03-09T03:30", local(t, NEW_YORK));
        assertEquals("2025-03-10T02:30", local(i.nextAfter(t), NEW_YORK));
    }

    @Test
    public void quartzCron() {
        ScheduleItem half = parse("c1", "connections", "office", "cron", "0 0/30 9-17 ? * MON-FRI");
        assertEquals("2025-01-13T09:00", local(half.nextAfter(london("2025-01-10T17:30")), LONDON));
        assertEquals("2025-01-10T17:30", local(half.nextAfter(london("2025-01-10T17:00:01")), LONDON));
        ScheduleItem last = parse("c2", "connections", "office", "cron", "0 0 12 L * ?");
        assertEquals("2024-02-29T12:00", local(last.nextAfter(london("2024-02-01T00:00")), LONDON));
        ScheduleItem third = parse("c3", "connections", "office", "cron", "0 15 10 ? * 6#3");
        assertEquals("third Friday of January 2025", "2025-01-17T10:15",
                local(third.nextAfter(london("2025-01-01T00:00")), LONDON));
        ScheduleItem lw = parse("c4", "connections", "office", "cron", "0 0 8 LW * ?");
        assertEquals("last weekday of May 2025 (the 31st is a Saturday)", "2025-05-30T08:00",
                local(lw.nextAfter(london("2025-05-01T00:00")), LONDON));
        ScheduleItem secs = parse("c5", "connections", "office", "cron", "*/5 * * * * ?");
        assertEquals("2025-01-10T10:00:05", local(secs.nextAfter(london("2025-01-10T10:00:00.5")), LONDON));
    }

    @Test
    public void badItemsNameFileAndKey() {
        expectProblem("days", () -> parse("b1", "connections", "office", "every", "15m", "days", "MON-FUNDAY"));
        expectProblem("between", () -> parse("b2", "connections", "office", "every", "15m", "between", "08:00-08:00"));
        expectProblem("between", () -> parse("b3", "connections", "office", "every", "15m", "between", "8-18"));
        expectProblem("at", () -> parse("b4", "connections", "office", "every", "15m", "at", "12:00"));
        expectProblem("at", () -> parse("b5", "connections", "office", "at", "25:00"));
        expectProblem("cron", () -> parse("b6", "connections", "office", "cron", "0 0 12 * * MON"));
        expectProblem("cron", () -> parse("b7", "connections", "office", "cron", "0 0 12 30 2 ?"));
        expectProblem("every", () -> parse("b8", "connections", "deny", "every", "15m"));
        expectProblem("connections", () -> parse("b9", "every", "15m"));
        expectProblem("timezone", () -> parse("b10", "connections", "office", "every", "15m", "timezone", "Mars/Base"));
        expectProblem("every", () -> parse("b11", "connections", "office", "every", "soon"));
    }

    private static void expectProblem(String key, Runnable r) {
        try {
            r.run();
            fail("expected a problem with key " + key);
        } catch (ConfigException e) {
            assertEquals(e.getMessage(), key, e.key());
            assertTrue(e.getMessage(), e.getMessage().contains("io.uplink.schedule-"));
            assertTrue(e.getMessage(), e.getMessage().startsWith("schedule '"));
        }
    }

    @Test
    public void denyWindowsAreSkipped() {
        ScheduleItem hourly = parse("hourly", "connections", "office", "every", "1h");
        ScheduleItem lunch = parse("lunch", "connections", "deny", "between", "12:00-14:00", "days", "MON-FRI");
        Plan plan = new Plan(List.of(hourly, lunch));
        assertEquals("12:00, 13:00 and 14:00 (the end is included) are denied", "2025-01-10T15:00",
                local(plan.next(hourly, london("2025-01-10T11:00")), LONDON));
        assertEquals("Saturday has no deny window", "2025-01-11T12:00",
                local(plan.next(hourly, london("2025-01-11T11:00")), LONDON));
        assertEquals(lunch, plan.deniedBy(london("2025-01-10T13:30")));
        assertNull(plan.deniedBy(london("2025-01-10T14:00:01")));

        ScheduleItem nights = parse("nights", "connections", "deny", "between", "23:00-06:00");
        Plan night = new Plan(List.of(hourly, nights));
        assertEquals("a deny window spanning midnight", "2025-01-11T07:00",
                local(night.next(hourly, london("2025-01-10T22:30")), LONDON));
    }

    @Test
    public void itemsOnOneConnectionAtOneInstantMakeOneFiring() {
        ScheduleItem a = parse("a", "connections", "office", "every", "30m");
        ScheduleItem b = parse("b", "connections", "office, modem", "every", "1h");
        ScheduleItem d = parse("d", "connections", "default", "at", "10:00");
        Plan plan = new Plan(List.of(a, b, d));
        var f = plan.forecast(london("2025-01-10T09:45"), 4, List.of("office"));
        assertEquals(4, f.size());
        assertEquals(london("2025-01-10T10:00"), f.get(0).time());
        assertEquals("a", f.get(0).scheduleId());
        assertEquals(List.of("office"), f.get(0).connections());
        assertEquals("b", f.get(1).scheduleId());
        assertEquals("office is fired by 'a' already", List.of("modem"), f.get(1).connections());
        assertEquals("'d' adds nothing at 10:00 (office is the only default)", london("2025-01-10T10:30"),
                f.get(2).time());
        assertEquals(london("2025-01-10T11:00"), f.get(3).time());
        assertEquals(london("2025-01-10T10:00"), plan.nextOf("modem", false, london("2025-01-10T09:45")));
        assertEquals(london("2025-01-10T10:00"), plan.nextOf("office", true, london("2025-01-10T09:45")));
        assertNull(plan.nextOf("nowhere", false, london("2025-01-10T09:45")));
    }

    private static List<Instant> walk(ScheduleItem i, Instant from, Instant to) {
        List<Instant> out = new ArrayList<>();
        for (Instant t = i.nextAfter(from); t != null && !t.isAfter(to); t = i.nextAfter(t)) {
            out.add(t);
        }
        return out;
    }
}

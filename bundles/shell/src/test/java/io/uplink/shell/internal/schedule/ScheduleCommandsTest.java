package io.uplink.shell.internal.schedule;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import io.uplink.api.schedule.ForecastEntry;
import io.uplink.api.schedule.ScheduleItemStatus;
import io.uplink.api.schedule.ScheduleService;
import io.uplink.shell.internal.Console;
import io.uplink.shell.internal.Format;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import org.apache.karaf.shell.support.CommandException;
import org.junit.Rule;
import org.junit.Test;

public class ScheduleCommandsTest {

    @Rule
    public Console console = new Console();

    private final MemorySchedule schedule = new MemorySchedule();

    @Test
    public void listShowsItemsAndTheReasonsOfItemsInError() throws Exception {
        Instant next = Instant.parse("2026-03-02T08:00:00Z");
        schedule.items.add(new ScheduleItemStatus("workhours", List.of("default"), "every 15m between 08:00-18:00 on MON-FRI",
                next, null, "ACTIVE", ""));
        schedule.items.add(new ScheduleItemStatus("night", List.of("office", "modem"), "at 25:00", null, null, "ERROR",
                "schedule 'night' (io.uplink.schedule-night.cfg) key 'at': 25:00 is not a time"));
        ListCommand list = new ListCommand();
        list.schedule = schedule;

        list.execute();

        List<String> lines = console.lines();
        assertTrue(lines.get(0), lines.get(0).matches("Id\\s+\\| Connections\\s+\\| When\\s+\\| Next firing\\s+\\| Last firing \\| State\\s*"));
        assertTrue(lines.get(2), lines.get(2).matches("workhours \\| default\\s+\\| every 15m .*\\| " + Format.time(next) + " \\| -\\s+\\| ACTIVE"));
        assertTrue(lines.get(3), lines.get(3).matches("night\\s+\\| office, modem \\| at 25:00 .*\\| ERROR"));
        assertEquals("night: schedule 'night' (io.uplink.schedule-night.cfg) key 'at': 25:00 is not a time", lines.get(4));
    }

    @Test
    public void pauseAndResumeReachTheScheduleAndListSaysPaused() throws Exception {
        PauseCommand pause = new PauseCommand();
        pause.schedule = schedule;
        pause.execute();
        ListCommand list = new ListCommand();
        list.schedule = schedule;
        list.execute();
        ResumeCommand resume = new ResumeCommand();
        resume.schedule = schedule;
        resume.execute();

        List<String> lines = console.lines();
        assertEquals(SchedulerBundle.PAUSED, lines.get(0));
        assertEquals(SchedulerBundle.PAUSED, lines.get(1));
        assertEquals("The schedule runs again.", lines.get(lines.size() - 1));
        assertEquals(false, schedule.paused);
    }

    @Test
    public void nextAsksForFiveByDefault() throws Exception {
        NextCommand next = new NextCommand();
        next.schedule = schedule;
        next.execute();
        next.count = 2;
        next.execute();

        assertEquals(List.of(5, 2), schedule.asked);
        assertTrue(console.text().contains("2026-"));
        next.count = 0;
        assertThrows(CommandException.class, next::execute);
    }

    @Test
    public void everyScheduleCommandSaysWhenTheSchedulerIsMissing() {
        for (org.junit.function.ThrowingRunnable r : List.<org.junit.function.ThrowingRunnable>of(
                new ListCommand()::execute, new NextCommand()::execute, new PauseCommand()::execute, new ResumeCommand()::execute)) {
            assertEquals("the scheduler bundle is not installed (feature uplink-scheduler)",
                    assertThrows(CommandException.class, r).getMessage());
        }
    }

    static final class MemorySchedule implements ScheduleService {
        final List<ScheduleItemStatus> items = new ArrayList<>();
        final List<Integer> asked = new ArrayList<>();
        boolean paused;

        @Override
        public List<ScheduleItemStatus> items() {
            return items;
        }

        @Override
        public void pause() {
            paused = true;
        }

        @Override
        public void resume() {
            paused = false;
        }

        @Override
        public boolean isPaused() {
            return paused;
        }

        @Override
        public List<ForecastEntry> next(int count) {
            asked.add(count);
            List<ForecastEntry> out = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                out.add(new ForecastEntry(Instant.parse("2026-03-02T08:00:00Z").plusSeconds(900L * i), "workhours", List.of("office")));
            }
            return out;
        }

        @Override
        public Optional<Instant> nextFiring(String connectionId) {
            return Optional.empty();
        }
    }
}

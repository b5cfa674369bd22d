package io.uplink.itests;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.CoreMatchers.containsString;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThat;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

import javax.inject.Inject;

import org.apache.karaf.jaas.boot.principal.RolePrincipal;
import org.junit.After;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;

import io.uplink.api.ConnectionService;
import io.uplink.api.ConnectionState;
import io.uplink.api.FiringResult;
import io.uplink.api.Outcome;
import io.uplink.api.PhaseResult;
import io.uplink.api.mail.Outbox;
import io.uplink.api.schedule.ScheduleItemStatus;
import io.uplink.api.schedule.ScheduleService;

/**
 * Schedule items as drop-in cfg files in the real distribution, firing real connections through the core:
 * timing, hot reload, deny windows, pause and resume, the defaults one after the other, the trigger file.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class ScheduleIT extends UplinkTestSupport {

    private static final DateTimeFormatter HH_MM = DateTimeFormatter.ofPattern("HH:mm");

    @Inject
    protected ConnectionService connections;

    private final List<Path> written = new ArrayList<>();

    @After
    public void removeWrittenFiles() throws Exception {
        for (Path p : written) {
            Files.deleteIfExists(p);
        }
        await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> connections.list().stream()
                .noneMatch(s -> s.id().startsWith("it-")) && schedule().items().isEmpty());
        if (schedule().isPaused()) {
            schedule().resume();
        }
    }

    /** The current service: a test restarts the scheduler bundle. */
    private ScheduleService schedule() {
        return getOsgiService(ScheduleService.class, 10_000);
    }

    private Path cfg(String name, String body) throws Exception {
        Path p = writeCfg(name, body);
        if (!written.contains(p)) {
            written.add(p);
        }
        return p;
    }

    private void connection(String id, String body) throws Exception {
        cfg("io.uplink.connection-" + id + ".cfg", body);
        await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> connections.status(id).isPresent());
    }

    private Path item(String id, String body) throws Exception {
        return cfg("io.uplink.schedule-" + id + ".cfg", body);
    }

    private ScheduleItemStatus status(String id) {
        return schedule().items().stream().filter(i -> i.id().equals(id)).findFirst().orElse(null);
    }

    /**
     * Fails as soon as {@code condition} is false, and returns when it held for {@code seconds}. The window is
     * measured on the clock; the wait around it is generous so that a slow poll does not fail it.
     */
    private static void holdsFor(long seconds, Callable<Boolean> condition) {
        Instant end = Instant.now().plusSeconds(seconds);
        await().atMost(seconds + SETTLE_SECONDS, TimeUnit.SECONDS).pollInterval(200, TimeUnit.MILLISECONDS).until(() -> {
            if (!condition.call()) {
                throw new AssertionError("the condition stopped holding before " + seconds + " s were over");
            }
            return Instant.now().isAfter(end);
        });
    }

    /** Firings of a connection by one cause. */
    private List<FiringResult> fired(String connection, String cause) {
        List<FiringResult> out = new ArrayList<>(connections.history(connection, 1000));
        out.removeIf(r -> !r.cause().equals(cause));
        return out;
    }

    @Test
    public void everyFiveSecondsFiresAndAnEditStopsItAtOnce() throws Exception {
        connection("it-five", "method = network\n");
        Path f = item("it-five", "connections = it-five\nevery = 5s\n");
        await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> fired("it-five", "schedule:it-five").size() >= 2);

        String jobs = executeCommand("scheduler:list", new RolePrincipal("admin"));
        assertThat(jobs, containsString("uplink.schedule.it-five"));

        // atomically, as cfg() writes: an edit in place was once read by FileInstall between the truncation and the
        // write (the item got an empty configuration, "connections is required") and never taken in again
        cfg(f.getFileName().toString(), "connections = it-five\nevery = 1h\n");
        await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> "every 1h".equals(status("it-five").when()));
        // a firing armed before the edit may be in flight; after that, none for a whole 5 s period and more
        await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> !connections.status("it-five").get().state().isFiring());
        int settled = fired("it-five", "schedule:it-five").size();
        holdsFor(7, () -> fired("it-five", "schedule:it-five").size() == settled);
        Instant next = status("it-five").nextFiring();
        assertTrue("next firing within the hour: " + next, next.isAfter(Instant.now().plusSeconds(10)));
    }

    @Test
    public void aDenyWindowCoveringNowBlocksFirings() throws Exception {
        connection("it-denied", "method = network\n");
        LocalTime now = LocalTime.now(ZoneOffset.UTC);
        // the window may span midnight, which the schedule supports
        item("it-nofire", "connections = deny\ntimezone = UTC\nbetween = " + now.minusMinutes(2).format(HH_MM) + "-"
                + now.plusMinutes(10).format(HH_MM) + "\n");
        await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> status("it-nofire") != null
                && status("it-nofire").reason().contains("blocking"));
        Path f = item("it-try", "connections = it-denied\nevery = 2s\n");
        await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> status("it-try") != null);
        holdsFor(6, () -> fired("it-denied", "schedule:it-try").isEmpty());
        assertTrue("the forecast skips the window", schedule().next(3).stream()
                .allMatch(e -> e.time().isAfter(Instant.now().plusSeconds(60 * 7))));

        Files.delete(written.remove(written.indexOf(etc().resolve("io.uplink.schedule-it-nofire.cfg"))));
        await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> !fired("it-denied", "schedule:it-try").isEmpty());
        assertTrue(Files.exists(f));
    }

    @Test
    public void pauseStopsFiringsAcrossARestartAndResumeRestartsThem() throws Exception {
        connection("it-paused", "method = network\n");
        item("it-pause", "connections = it-paused\nevery = 2s\n");
        await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> !fired("it-paused", "schedule:it-pause").isEmpty());

        schedule().pause();
        assertTrue(schedule().isPaused());
        assertEquals("PAUSED", status("it-pause").state());
        assertTrue(schedule().next(5).isEmpty());

        // the paused state is kept on disk: a restarted scheduler is still paused
        Bundle b = findBundleByName("io.uplink.scheduler");
        b.stop();
        b.start();
        await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> status("it-pause") != null);
        assertTrue(schedule().isPaused());

        await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> !connections.status("it-paused").get().state().isFiring());
        int settled = fired("it-paused", "schedule:it-pause").size();
        holdsFor(5, () -> fired("it-paused", "schedule:it-pause").size() == settled);
        assertEquals("manual firing still works", Outcome.OK,
                connections.fire("it-paused", "test").await(Duration.ofSeconds(30)).outcome());

        schedule().resume();
        assertFalse(schedule().isPaused());
        await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> fired("it-paused", "schedule:it-pause").size() > settled);
    }

    @Test
    public void aFiringMissedWhileStoppedFiresOnceOnStart() throws Exception {
        connection("it-late", "method = network\n");
        Bundle b = findBundleByName("io.uplink.scheduler");
        Instant slot;
        // the scheduler must be stopped before the slot: on a slow machine the item may arrive too late for
        // that, then a later slot is tried (a slot that passed may have fired; the counts below allow for it)
        do {
            Instant next = Instant.now().plusSeconds(6).truncatedTo(ChronoUnit.SECONDS);
            String at = DateTimeFormatter.ofPattern("HH:mm:ss").format(next.atZone(ZoneOffset.UTC));
            item("it-late", "connections = it-late\ntimezone = UTC\nat = " + at + "\n");
            await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> status("it-late") != null
                    && next.equals(status("it-late").nextFiring()));
            slot = next;
        } while (Instant.now().isAfter(slot.minusSeconds(2)));

        b.stop();
        int before = fired("it-late", "schedule:it-late").size();
        Instant missed = slot;
        await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> Instant.now().isAfter(missed.plusSeconds(1)));
        assertEquals("nothing fired while stopped", before, fired("it-late", "schedule:it-late").size());
        b.start();
        await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> fired("it-late", "schedule:it-late").size() == before + 1);
        holdsFor(4, () -> fired("it-late", "schedule:it-late").size() == before + 1);
        assertEquals("the next one is tomorrow", slot.plus(Duration.ofDays(1)), status("it-late").nextFiring());
    }

    @Test
    public void anItemAimedAtDefaultFiresTheDefaultsOneAfterTheOther() throws Exception {
        connection("it-first", "method = network\ndefault = true\norder = 1\ncommands.postConnect = sleep 1\n");
        connection("it-second", "method = network\ndefault = true\norder = 2\ncommands.postConnect = sleep 1\n");
        item("it-defaults", "connections = default\nevery = 10s\n");
        await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> !schedule().next(1).isEmpty());
        List<String> forecast = schedule().next(1).get(0).connections();
        assertTrue("defaults in order: " + forecast, forecast.indexOf("it-first") >= 0
                && forecast.indexOf("it-first") < forecast.indexOf("it-second"));
        await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> !fired("it-second", "schedule:it-defaults").isEmpty());
        FiringResult first = fired("it-first", "schedule:it-defaults").stream()
                .max(Comparator.comparing(FiringResult::started)).get();
        FiringResult second = fired("it-second", "schedule:it-defaults").stream()
                .max(Comparator.comparing(FiringResult::started)).get();
        Instant firstEnds = first.phases().stream().map(PhaseResult::ended).max(Comparator.naturalOrder()).get();
        Instant secondStarts = second.phases().stream().map(PhaseResult::started).min(Comparator.naturalOrder()).get();
        assertFalse("first ended " + firstEnds + ", second started " + secondStarts, secondStarts.isBefore(firstEnds));
        assertFalse(second.started().isBefore(first.ended()));
    }

    @Test
    public void droppingConnectNowFiresTheDefaults() throws Exception {
        connection("it-now", "method = network\ndefault = true\n");
        Path trigger = Path.of(System.getProperty("karaf.data"), "uplink", "connect.now");
        Files.createDirectories(trigger.getParent());
        Files.writeString(trigger, "");
        await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> !fired("it-now", "connect.now").isEmpty());
        assertFalse(Files.exists(trigger));
    }

    /**
     * The outbox triggers (priority mail, sendImmediately, minWaiting) against the real core and the mail
     * bundle's real outgoing queue (real messages with {@code X-Priority: 1}).
     */
    @Test
    public void queuedMailTriggersFirings() throws Exception {
        connection("it-urgent", "method = network\ndefault = true\n");
        connection("it-online", "method = network\nsendImmediately = true\ncommands.postConnect = sleep 4\n");
        connection("it-bulk", "method = network\n");

        // the distribution's own outgoing queue (the mail bundle), so real X-Priority headers are read
        Outbox queue = bundleContext.getService(bundleContext.getServiceReference(Outbox.class));
        List<String> queued = new ArrayList<>();
        try {
            int before = queue.size();
            item("it-bulk", "connections = it-bulk\nevery = 2s\nminWaiting = " + (before + 3) + "\n");
            await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> status("it-bulk") != null
                    && "ACTIVE".equals(status("it-bulk").state()));

            queued.add(queue(queue, "m1", true));
            await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> !fired("it-urgent", "priority-mail").isEmpty());
            queued.add(queue(queue, "m2", true));
            holdsFor(4, () -> fired("it-urgent", "priority-mail").size() == 1);
            assertTrue("two more waiting is fewer than minWaiting", fired("it-bulk", "schedule:it-bulk").isEmpty());

            connections.fire("it-online", "test");
            await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS)
                    .until(() -> connections.status("it-online").get().state() == ConnectionState.ONLINE);
            queued.add(queue(queue, "m3", false));
            await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> !fired("it-online", "send-immediately").isEmpty());
            await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> !fired("it-bulk", "schedule:it-bulk").isEmpty());
        } finally {
            for (String id : queued) {
                queue.delete(id);
            }
        }
    }

    private static String queue(Outbox queue, String subject, boolean urgent) throws Exception {
        String message = "From: it@example.net\r\nTo: to@example.net\r\nSubject: " + subject + "\r\n"
                + (urgent ? "X-Priority: 1\r\n" : "") + "\r\nhello\r\n";
        return queue.queue(null, List.of(), new ByteArrayInputStream(message.getBytes(StandardCharsets.US_ASCII))).id();
    }

    @Test
    public void aBadItemIsAnErrorNamingFileAndKey() throws Exception {
        item("it-broken", "connections = it-x\nevery = 15m\nbetween = 09:00-09:00\n");
        await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> status("it-broken") != null);
        ScheduleItemStatus s = status("it-broken");
        assertEquals("ERROR", s.state());
        assertThat(s.reason(), containsString("io.uplink.schedule-it-broken.cfg"));
        assertThat(s.reason(), containsString("'between'"));
    }
}

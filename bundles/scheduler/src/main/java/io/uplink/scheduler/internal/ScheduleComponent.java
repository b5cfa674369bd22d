package io.uplink.scheduler.internal;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.apache.karaf.scheduler.Scheduler;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.uplink.api.ConnectionService;
import io.uplink.api.config.Settings;
import io.uplink.api.mail.Outbox;
import io.uplink.api.schedule.ForecastEntry;
import io.uplink.api.schedule.ScheduleItemStatus;
import io.uplink.api.schedule.ScheduleService;

/**
 * The {@link ScheduleService}: owns the {@link Scheduling} (items armed on the Karaf Scheduler) and the
 * {@link Triggers} (trigger file, priority mail, sendImmediately). Its state lives under
 * {@code ${karaf.data}/uplink/state}.
 */
@Component(service = {ScheduleService.class, ScheduleComponent.class}, immediate = true)
public final class ScheduleComponent implements ScheduleService {

    private static final Logger LOG = LoggerFactory.getLogger(ScheduleComponent.class);
    /** How often the trigger file and the outgoing queue are looked at. */
    private static final long TRIGGER_CHECK_MS = 1000;

    private final ScheduledExecutorService executor;
    private final Scheduling scheduling;
    private final Triggers triggers;

    private volatile Outbox outbox;

    @Activate
    public ScheduleComponent(@Reference ConnectionService connections, @Reference Scheduler scheduler) {
        Clock clock = Clock.systemUTC();
        Path uplinkData = Path.of(System.getProperty("karaf.data", "data")).resolve("uplink");
        executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "uplink-schedule");
            t.setDaemon(true);
            return t;
        });
        scheduling = new Scheduling(connections, new KarafArming(scheduler, clock), clock, ZoneId.systemDefault(),
                new ScheduleState(uplinkData.resolve("state")), executor, () -> outbox);
        triggers = new Triggers(connections, () -> outbox, clock, uplinkData, scheduling::blockedNow);
        executor.scheduleWithFixedDelay(triggers::check, 0, TRIGGER_CHECK_MS, TimeUnit.MILLISECONDS);
        LOG.info("Schedule started{}; trigger file {}", scheduling.isPaused() ? " (paused)" : "",
                uplinkData.resolve(Triggers.CONNECT_NOW));
    }

    @Deactivate
    void deactivate() {
        scheduling.stop();
        executor.shutdownNow();
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY, unbind = "unbindOutbox")
    void bindOutbox(Outbox o) {
        outbox = o;
        outboxChanged();
    }

    void unbindOutbox(Outbox o) {
        if (outbox == o) {
            outbox = null;
        }
        outboxChanged();
    }

    private void outboxChanged() {
        scheduling.outboxChanged();
    }

    void put(Settings settings) {
        scheduling.put(settings);
    }

    void remove(String id, boolean deleted) {
        scheduling.remove(id, deleted);
    }

    @Override
    public List<ScheduleItemStatus> items() {
        return scheduling.items();
    }

    @Override
    public void pause() {
        scheduling.pause();
    }

    @Override
    public void resume() {
        scheduling.resume();
    }

    @Override
    public boolean isPaused() {
        return scheduling.isPaused();
    }

    @Override
    public List<ForecastEntry> next(int count) {
        return scheduling.next(count);
    }

    @Override
    public Optional<Instant> nextFiring(String connectionId) {
        return scheduling.nextFiring(connectionId);
    }

    @Override
    public boolean due(String connectionId) {
        return scheduling.due(connectionId);
    }
}

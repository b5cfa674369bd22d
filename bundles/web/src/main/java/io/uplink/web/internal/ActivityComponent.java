package io.uplink.web.internal;

import io.uplink.api.Events;
import io.uplink.api.config.ConfigException;
import io.uplink.api.config.Settings;
import io.uplink.api.mail.LocalMailboxes;
import io.uplink.api.mail.Outbox;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.event.Event;
import org.osgi.service.event.EventHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Listens to every connection event and feeds {@link Activity}. Reads {@code notify.*}
 * from {@code etc/io.uplink.core.cfg} (the core reads the same file; each ignores the other's keys).
 */
@Component(service = {EventHandler.class, ActivityComponent.class, ActivityLogs.class}, immediate = true,
        configurationPid = "io.uplink.core", configurationPolicy = ConfigurationPolicy.OPTIONAL,
        property = "event.topics=" + Events.TOPIC_ALL)
public class ActivityComponent implements EventHandler, ActivityLogs {

    private static final Logger LOG = LoggerFactory.getLogger(ActivityComponent.class);
    /** A log file is rotated past this size; four files per connection at most. */
    static final long LOG_BYTES = 256 * 1024;
    static final int LOG_KEEP = 3;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    private volatile Outbox outbox;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    private volatile LocalMailboxes mailboxes;

    private final Notices notices = new Notices(Clock.systemUTC(), () -> outbox, () -> mailboxes);
    private Activity activity;

    @Activate
    void activate(Map<String, Object> properties) {
        activity = new Activity(Clock.systemUTC(), logFor(properties), notices);
        configure(properties);
    }

    @Modified
    void modified(Map<String, Object> properties) {
        activity.log(logFor(properties));
        configure(properties);
    }

    Activity activity() {
        return activity;
    }

    @Override
    public List<String> tail(String connection, int limit) {
        return activity.log().tail(connection, limit);
    }

    Notices notices() {
        return notices;
    }

    @Override
    public void handleEvent(Event event) {
        Map<String, Object> p = new HashMap<>();
        for (String name : event.getPropertyNames()) {
            p.put(name, event.getProperty(name));
        }
        activity.onEvent(event.getTopic(), p);
    }

    private static ActivityLog logFor(Map<String, Object> properties) {
        Path base = Path.of(System.getProperty("karaf.data", "data"), "uplink");
        return new ActivityLog(base.resolve("log"), LOG_BYTES, LOG_KEEP);
    }

    private void configure(Map<String, Object> properties) {
        Settings s = Settings.of("core settings", "io.uplink.core", properties);
        List<String> to = s.list("notify.to");
        String from = s.string("notify.from", "uplink@localhost");
        Duration repeat = Duration.ofHours(1);
        try {
            repeat = s.duration("notify.repeat", repeat);
            if (repeat.isNegative()) {
                throw s.problem("notify.repeat", "must not be negative, got '" + s.string("notify.repeat", "") + "'");
            }
        } catch (ConfigException e) {
            LOG.error("{}; error notices repeat every 1h", e.getMessage());
            repeat = Duration.ofHours(1);
        }
        notices.configure(to, from, repeat);
    }
}

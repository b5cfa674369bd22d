package io.uplink.web.internal;

import io.uplink.api.Events;
import io.uplink.api.config.Settings;

import java.nio.file.Path;
import java.time.Clock;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.event.Event;
import org.osgi.service.event.EventHandler;

/**
 * Listens to every connection event and feeds {@link Activity}. Reads {@code notify.to} from
 * {@code etc/io.uplink.core.cfg} to show it on the page; the notices themselves are the mail bundle's.
 */
@Component(service = {EventHandler.class, ActivityComponent.class, ActivityLogs.class}, immediate = true,
        configurationPid = "io.uplink.core", configurationPolicy = ConfigurationPolicy.OPTIONAL,
        property = "event.topics=" + Events.TOPIC_ALL)
public class ActivityComponent implements EventHandler, ActivityLogs {

    /** A log file is rotated past this size; four files per connection at most. */
    static final long LOG_BYTES = 256 * 1024;
    static final int LOG_KEEP = 3;

    private Activity activity;
    private volatile List<String> notifyTo = List.of();

    @Activate
    void activate(Map<String, Object> properties) {
        activity = new Activity(Clock.systemUTC(), logFor(properties));
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

    /** Who gets the error notices (sent by the mail bundle), for the page. */
    List<String> notifyTo() {
        return notifyTo;
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
        notifyTo = Settings.of("core settings", "io.uplink.core", properties).list("notify.to");
    }
}

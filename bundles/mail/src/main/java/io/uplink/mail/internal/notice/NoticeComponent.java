package io.uplink.mail.internal.notice;

import io.uplink.api.Events;
import io.uplink.api.Outcome;
import io.uplink.api.config.ConfigException;
import io.uplink.api.config.Settings;
import io.uplink.api.mail.LocalMailboxes;
import io.uplink.api.mail.Outbox;

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
import org.osgi.service.event.EventAdmin;
import org.osgi.service.event.EventHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Mails the error notices: listens to {@code FAILED} and {@code DISCONNECTED} events and hands them to
 * {@link Notices}. Reads {@code notify.*} from {@code etc/io.uplink.core.cfg} (the core reads the same file;
 * each ignores the other's keys). It lives in the mail bundle because a notice is mail: a distribution without
 * the status page sends them too. What happened to each notice is posted as a {@link Events#NOTICE} event, which
 * the page's activity log records when it is installed.
 */
@Component(service = EventHandler.class, immediate = true,
        configurationPid = "io.uplink.core", configurationPolicy = ConfigurationPolicy.OPTIONAL,
        property = {"event.topics=" + Events.FAILED, "event.topics=" + Events.DISCONNECTED})
public class NoticeComponent implements EventHandler {

    private static final Logger LOG = LoggerFactory.getLogger(NoticeComponent.class);

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    private volatile Outbox outbox;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    private volatile LocalMailboxes mailboxes;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    private volatile EventAdmin events;

    private final Notices notices = new Notices(Clock.systemUTC(), () -> outbox, () -> mailboxes);

    @Activate
    @Modified
    void configure(Map<String, Object> properties) {
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

    @Override
    public void handleEvent(Event event) {
        Map<String, Object> p = new HashMap<>();
        for (String name : event.getPropertyNames()) {
            p.put(name, event.getProperty(name));
        }
        String connection = String.valueOf(p.getOrDefault(Events.CONNECTION_ID, ""));
        if (Events.DISCONNECTED.equals(event.getTopic()) && Outcome.OK.name().equals(p.get(Events.OUTCOME))) {
            notices.succeeded(connection);
        } else if (Events.FAILED.equals(event.getTopic())) {
            Notices.Sent sent = notices.failed(p);
            EventAdmin admin = events;
            if (sent != null && admin != null) {
                Map<String, Object> n = new HashMap<>();
                n.put(Events.CONNECTION_ID, connection);
                n.put(Events.CONNECTION_NAME, p.getOrDefault(Events.CONNECTION_NAME, connection));
                n.put(Events.FIRING_ID, p.getOrDefault(Events.FIRING_ID, ""));
                n.put(Events.MESSAGE, sent.text());
                n.put(Events.NOTICE_SENT, sent.queued());
                admin.postEvent(new Event(Events.NOTICE, n));
            }
        }
    }
}

package io.uplink.mail.internal.send;

import io.uplink.api.mail.MailTaskStatus;
import io.uplink.mail.internal.status.StatusSource;
import io.uplink.mail.internal.status.TaskStatus;

import java.time.Clock;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.uplink.api.config.ConfigException;
import io.uplink.api.config.Settings;
import io.uplink.api.mail.MailSender;
import io.uplink.api.mail.SendReport;
import io.uplink.api.mail.TaskContext;
import io.uplink.mail.internal.auth.SignIn;
import io.uplink.mail.internal.outbox.OutboxComponent;
import io.uplink.mail.internal.outbox.OutboxStore;
import io.uplink.oauth2.OAuth2Account;
import io.uplink.oauth2.OAuth2Tokens;

/**
 * A Mail Sender: one SMTP relay (factory PID {@code io.uplink.sender}, {@code etc/io.uplink.sender-<id>.cfg}),
 * registered as {@link MailSender} with {@code uplink.sender.id=<id>} so that connections naming it in
 * {@code sender = <id>} find it. A sender with a bad setting is still registered: its {@link #send} reports
 * the problem (sender, file, key) and keeps the queue as it is, so the connection's status says what to fix.
 */
@Component(service = {}, immediate = true, configurationPid = SmtpSender.FACTORY_PID,
        configurationPolicy = ConfigurationPolicy.REQUIRE)
@Designate(ocd = SenderOcd.class, factory = true)
public class SmtpSender implements MailSender, StatusSource {

    /** The factory PID of senders. */
    public static final String FACTORY_PID = "io.uplink.sender";
    private static final Logger LOG = LoggerFactory.getLogger(SmtpSender.class);
    private static final Set<String> KEYS = Settings.keysOf(SenderOcd.class);

    private final OutboxStore outbox;
    private volatile String id;
    private volatile SenderConfig config;
    private volatile Settings settings;
    private volatile OAuth2Account oauth2;

    /** Access tokens for senders with {@code auth = oauth2} (the OAuth2 bundle). */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile OAuth2Tokens tokens;
    private volatile ConfigException problem;
    private final TaskStatus status = new TaskStatus(Clock.systemUTC());
    private ServiceRegistration<MailSender> registration;

    @Activate
    public SmtpSender(@Reference OutboxComponent outbox, BundleContext context, Map<String, Object> properties) {
        this.outbox = outbox.store();
        configure(properties);
        Dictionary<String, Object> props = new Hashtable<>();
        props.put(MailSender.ID, id);
        registration = context.registerService(MailSender.class, this, props);
    }

    /** For tests: a sender on a given queue. */
    SmtpSender(OutboxStore outbox, Map<String, Object> properties) {
        this.outbox = outbox;
        configure(properties);
    }

    @Modified
    void modified(Map<String, Object> properties) {
        configure(properties);
    }

    private void configure(Map<String, Object> properties) {
        Settings s = Settings.of("sender", FACTORY_PID, properties);
        id = s.id();
        SenderConfig parsed = null;
        ConfigException error = null;
        try {
            parsed = SenderConfig.parse(s);
            oauth2 = SignIn.account(s, OAuth2Account.Use.SMTP);
            settings = s;
        } catch (ConfigException e) {
            error = e;
        } catch (RuntimeException e) {
            // a value no check foresaw: still one line naming the sender and the file, never a failed component
            error = s.problem(null, "cannot be used: " + e);
        }
        config = parsed;
        problem = error;
        status.configured(s, KEYS, error, parsed == null ? null : parsed.server(), false, LOG);
        if (parsed != null) {
            LOG.info("{} ready: {}", parsed.item(), parsed);
        }
    }

    @Override
    public Optional<String> problem() {
        return status.problem();
    }

    @Override
    public MailTaskStatus status() {
        return status.snapshot(MailTaskStatus.SENDER, List.of(), config == null ? null : oauth2, tokens);
    }

    @Deactivate
    void deactivate() {
        if (registration != null) {
            try {
                registration.unregister();
            } catch (IllegalStateException alreadyGone) {
                // the bundle is stopping
            }
        }
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public SendReport send(TaskContext context) throws InterruptedException {
        SenderConfig c = config;
        status.started();
        SendReport report = null;
        try {
            if (c == null) {
                ConfigException p = problem;
                report = new SendReport(0, outbox.due().size(), 0, List.of(p.getMessage()));
            } else {
                OutboxStore.Sending sending;
                try {
                    sending = outbox.sending(context);
                } catch (java.io.IOException e) {
                    report = new SendReport(0, outbox.due().size(), 0, List.of(c.item() + ": " + e.getMessage()));
                    return report;
                }
                report = SmtpSession.run(c, sending, context, SignIn.of(settings, c.password(), oauth2, tokens));
            }
            return report;
        } finally {
            status.finished(report == null ? "interrupted" : summary(report),
                    report == null ? List.of("the run was interrupted") : report.errors());
        }
    }

    private static String summary(SendReport r) {
        return r.sent() + " sent" + (r.deferred() > 0 ? ", " + r.deferred() + " deferred" : "")
                + (r.failed() > 0 ? ", " + r.failed() + " failed" : "");
    }

    @Override
    public String toString() {
        return "sender '" + id + "'";
    }
}

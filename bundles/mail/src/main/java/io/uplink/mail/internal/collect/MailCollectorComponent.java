package io.uplink.mail.internal.collect;

import java.nio.file.Path;
import java.time.Clock;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

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
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.AttributeType;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.metatype.annotations.Option;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.uplink.api.config.ConfigException;
import io.uplink.api.config.Settings;
import io.uplink.api.mail.CollectReport;
import io.uplink.api.mail.MailCollector;
import io.uplink.api.mail.TaskContext;
import io.uplink.mail.internal.auth.SignIn;
import io.uplink.oauth2.OAuth2Tokens;

/**
 * A Mail Collector per {@code etc/io.uplink.collector-<id>.cfg}. It registers a {@link MailCollector}
 * service itself (not through DS) because the service properties are typed values derived from the
 * configuration's strings ({@code connections} as {@code String[]}, {@code priority} as {@code Integer},
 * {@code enabled} as {@code Boolean}), and updates them in place when the file changes. A configuration
 * that cannot be used still registers: the firing then reports the problem with file and key.
 */
@Component(configurationPid = CollectorSettings.FACTORY_PID, configurationPolicy = ConfigurationPolicy.REQUIRE,
        immediate = true, service = {})
@Designate(ocd = MailCollectorComponent.Config.class, factory = true)
public final class MailCollectorComponent implements MailCollector {

    private static final Logger LOG = LoggerFactory.getLogger(MailCollectorComponent.class);
    /** One run per collector at a time, even when two connections fire it together. */
    private static final Map<String, ReentrantLock> RUNNING = new ConcurrentHashMap<>();

    /** The keys of a collector's cfg file (for the web console and {@code config:*}; read through Settings). */
    @ObjectClassDefinition(name = "Uplink Mail Collector", description = "Collects one POP3/IMAP account into local Maildirs")
    public @interface Config {
        @AttributeDefinition(description = "Connection ids that run this collector, comma separated")
        String[] connections();

        @AttributeDefinition(required = false)
        boolean enabled() default true;

        @AttributeDefinition(required = false, description = "Lower runs first")
        int priority() default 100;

        @AttributeDefinition(required = false, options = {@Option(value = "pop3"), @Option(value = "imap")})
        String protocol() default "pop3";

        String host();

        @AttributeDefinition(required = false, description = "Default 110/995 (POP3), 143/993 (IMAP)")
        int port();

        @AttributeDefinition(required = false, options = {@Option(value = "none"), @Option(value = "tls"),
            @Option(value = "starttls"), @Option(value = "starttls-if-available")})
        String security() default "tls";

        @AttributeDefinition(required = false, description = "PEM/DER/PKCS12/JKS file with a private CA or the server's certificate")
        String trust_file();

        String username();

        @AttributeDefinition(type = AttributeType.PASSWORD, required = false, description = "With auth = password")
        String password();

        @AttributeDefinition(required = false, options = {@Option(value = "password"), @Option(value = "oauth2")},
                description = "oauth2: XOAUTH2 with a token from oauth:authorize (README: Microsoft 365 and Gmail)")
        String auth() default "password";

        @AttributeDefinition(required = false, options = {@Option(value = "microsoft"), @Option(value = "google"),
            @Option(value = "custom")})
        String oauth2_provider() default "custom";

        @AttributeDefinition(required = false, description = "Microsoft: tenant id or domain")
        String oauth2_tenant() default "organizations";

        @AttributeDefinition(required = false, description = "The app registration's client id")
        String oauth2_clientId();

        @AttributeDefinition(type = AttributeType.PASSWORD, required = false, description = "Only for a confidential client")
        String oauth2_clientSecret();

        @AttributeDefinition(required = false, description = "Space separated; overrides the provider's default")
        String oauth2_scope();

        @AttributeDefinition(required = false, description = "custom: the token endpoint")
        String oauth2_tokenUrl();

        @AttributeDefinition(required = false, description = "custom: the device authorization endpoint")
        String oauth2_deviceUrl();

        @AttributeDefinition(required = false, description = "custom: the revocation endpoint")
        String oauth2_revokeUrl();

        @AttributeDefinition(required = false, options = {@Option(value = "xoauth2")})
        String oauth2_mechanism() default "xoauth2";

        @AttributeDefinition(required = false)
        String folder() default "INBOX";

        @AttributeDefinition(required = false, description = "0 = delete once stored")
        int leaveOnServer_days() default 0;

        @AttributeDefinition(required = false, description = "Bytes (or 10M); larger messages stay on the server; 0 = no limit")
        String maxMessageSize() default "0";

        @AttributeDefinition(required = false, description = "The local mailbox for all mail")
        String deliverTo();

        @AttributeDefinition(required = false, description = "'headers' to route by recipient headers")
        String route();

        @AttributeDefinition(required = false)
        String[] domains();

        @AttributeDefinition(required = false)
        String unroutable() default "postmaster";

        @AttributeDefinition(required = false)
        String timeout() default "60s";

        @AttributeDefinition(required = false)
        int uidl_expiryDays() default 30;
    }

    private final Path mailboxes;
    private final Path state;
    private BundleContext bundleContext;
    private ServiceRegistration<MailCollector> registration;
    private volatile Settings settings;
    private volatile CollectorSettings config;

    /** Access tokens for collectors with {@code auth = oauth2} (the OAuth2 bundle). */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile OAuth2Tokens tokens;
    private volatile ConfigException problem;

    public MailCollectorComponent() {
        Path data = Path.of(System.getProperty("karaf.data", "data")).resolve("uplink");
        this.mailboxes = data.resolve("mailboxes");
        this.state = data.resolve("state");
    }

    @Activate
    void activate(BundleContext context, Map<String, Object> properties) {
        this.bundleContext = context;
        configure(properties);
        registration = context.registerService(MailCollector.class, this, serviceProperties());
    }

    @Modified
    void modified(Map<String, Object> properties) {
        configure(properties);
        registration.setProperties(serviceProperties());
    }

    @Deactivate
    void deactivate() {
        if (registration != null) {
            registration.unregister();
            registration = null;
        }
        bundleContext = null;
    }

    private void configure(Map<String, Object> properties) {
        Settings s = Settings.of("collector", CollectorSettings.FACTORY_PID, properties);
        this.settings = s;
        try {
            this.config = CollectorSettings.of(s);
            this.problem = null;
            LOG.info("collector '{}' configured: {}", s.id(), config.server());
        } catch (ConfigException e) {
            this.config = null;
            this.problem = e;
            LOG.warn("{}", e.getMessage());
        }
    }

    private Dictionary<String, Object> serviceProperties() {
        Hashtable<String, Object> p = new Hashtable<>();
        p.put(ID, id());
        p.put(CONNECTIONS, connections().toArray(new String[0]));
        p.put(PRIORITY, priority());
        p.put(ENABLED, enabled());
        return p;
    }

    @Override
    public String id() {
        return settings.id();
    }

    @Override
    public List<String> connections() {
        return settings.list("connections");
    }

    @Override
    public int priority() {
        CollectorSettings c = config;
        if (c != null) {
            return c.priority;
        }
        try {
            return settings.integer("priority", 100, Integer.MIN_VALUE, Integer.MAX_VALUE);
        } catch (ConfigException e) {
            return 100;
        }
    }

    @Override
    public boolean enabled() {
        CollectorSettings c = config;
        if (c != null) {
            return c.enabled;
        }
        try {
            return settings.bool("enabled", true);
        } catch (ConfigException e) {
            // a collector whose file is broken still runs, so the firing shows what to fix
            return true;
        }
    }

    @Override
    public CollectReport collect(TaskContext context) throws InterruptedException {
        CollectorSettings c = config;
        if (c == null) {
            ConfigException p = problem;
            return new CollectReport(id(), 0, 0, List.of(p != null ? p.getMessage() : "collector '" + id() + "' is not configured"));
        }
        ReentrantLock lock = RUNNING.computeIfAbsent(c.id(), k -> new ReentrantLock());
        lock.lockInterruptibly();
        try {
            Path ledger = state.resolve("collector-" + c.id().replaceAll("[^A-Za-z0-9._-]", "_") + ".uidl");
            return new Collection(c, mailboxes, ledger, Clock.systemUTC(),
                    SignIn.of(c.settings, c.password, c.oauth2, tokens)).run(context);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public String toString() {
        return "collector '" + id() + "'";
    }
}

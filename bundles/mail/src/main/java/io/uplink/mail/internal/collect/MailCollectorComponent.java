package io.uplink.mail.internal.collect;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
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

import io.uplink.api.ConnectionService;
import io.uplink.api.cluster.Cluster;
import io.uplink.api.config.ConfigException;
import io.uplink.api.schedule.ScheduleService;
import io.uplink.api.config.Settings;
import io.uplink.api.mail.CollectReport;
import io.uplink.api.mail.MailCollector;
import io.uplink.api.mail.MailTaskStatus;
import io.uplink.mail.internal.status.StatusSource;
import io.uplink.mail.internal.status.TaskStatus;
import io.uplink.api.mail.TaskContext;
import io.uplink.mail.internal.ledger.FileLedgers;
import io.uplink.mail.internal.ledger.JdbcLedgers;
import io.uplink.mail.internal.ledger.LedgerStore;
import io.uplink.mail.internal.outbox.OutboxComponent;
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
public final class MailCollectorComponent implements MailCollector, StatusSource {

    private static final Logger LOG = LoggerFactory.getLogger(MailCollectorComponent.class);
    private static final Set<String> KEYS = Settings.keysOf(Config.class);
    /** One run per collector at a time, even when two connections fire it together. */
    private static final Map<String, ReentrantLock> RUNNING = new ConcurrentHashMap<>();

    /** The keys of a collector's cfg file (for the web console and {@code config:*}; read through Settings). */
    @ObjectClassDefinition(name = "Uplink Mail Collector", description = "Collects one POP3/IMAP account into local Maildirs")
    public @interface Config {
        @AttributeDefinition(description = "Connection ids that run this collector, comma separated")
        String[] connections();

        @AttributeDefinition(required = false, description = "Whether it runs at all")
        boolean enabled() default true;

        @AttributeDefinition(required = false, description = "Lower runs first")
        int priority() default 100;

        @AttributeDefinition(required = false, description = "The mail protocol", options = {@Option(value = "pop3"), @Option(value = "imap")})
        String protocol() default "pop3";

        @AttributeDefinition(description = "The POP3/IMAP server")
        String host();

        @AttributeDefinition(required = false, description = "Default 110/995 (POP3), 143/993 (IMAP)")
        int port();

        @AttributeDefinition(required = false, description = "How the connection is protected; certificates always verified",
            options = {@Option(value = "none"), @Option(value = "tls"),
            @Option(value = "starttls"), @Option(value = "starttls-if-available")})
        String security() default "tls";

        @AttributeDefinition(required = false, description = "PEM/DER/PKCS12/JKS file with a private CA or the server's certificate")
        String trust_file();

        @AttributeDefinition(required = false, type = AttributeType.PASSWORD, description = "Password of trust.file when it is a key store that needs one")
        String trust_password();

        @AttributeDefinition(description = "The account")
        String username();

        @AttributeDefinition(type = AttributeType.PASSWORD, required = false, description = "With auth = password")
        String password();

        @AttributeDefinition(required = false, options = {@Option(value = "password"), @Option(value = "oauth2")},
                description = "oauth2: XOAUTH2 with a token from oauth:authorize (README: Microsoft 365 and Gmail)")
        String auth() default "password";

        @AttributeDefinition(required = false, options = {@Option(value = "microsoft"), @Option(value = "google"),
            @Option(value = "custom")}, description = "Who issues the tokens; microsoft and google fill in endpoints and scopes")
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

        @AttributeDefinition(required = false, options = {@Option(value = "xoauth2"), @Option(value = "oauthbearer")},
                description = "The SASL mechanism that carries the token: xoauth2 (Microsoft 365, Gmail) or oauthbearer "
                        + "(RFC 7628: Gmail, Dovecot; not Microsoft 365)")
        String oauth2_mechanism() default "xoauth2";

        @AttributeDefinition(required = false, description = "IMAP folder")
        String folder() default "INBOX";

        @AttributeDefinition(required = false, description = "0 = delete once stored")
        int leaveOnServer_days() default 0;

        @AttributeDefinition(required = false, description = "Bytes (or 10M); larger messages stay on the server; 0 = no limit")
        String maxMessageSize() default "0";

        @AttributeDefinition(required = false, description = "The local mailbox for all mail, or an address "
                + "(alice@office.test) whose local part is the mailbox and which is the envelope recipient with lmtp/smtp delivery")
        String deliverTo();

        @AttributeDefinition(required = false, description = "'headers' to route by recipient headers")
        String route();

        @AttributeDefinition(required = false, description = "With route = headers: the domains whose recipients are local")
        String[] domains();

        @AttributeDefinition(required = false, description = "Where collected mail goes: maildir (the local mailboxes), "
                + "lmtp://host:port or smtp://host[:port] (the office's mail server; envelope recipient = the routed address)")
        String delivery() default "maildir";

        @AttributeDefinition(name = "delivery.<domain>", required = false, description = "With route = headers: where "
                + "the addresses of one of the domains go instead of 'delivery' (maildir, lmtp://host:port, smtp://host[:port]), "
                + "e.g. delivery.branch.example = lmtp://10.0.0.5:24")
        String delivery_domain();

        @AttributeDefinition(required = false, description = "Mailbox for mail no accepted address matched")
        String unroutable() default "postmaster";

        @AttributeDefinition(required = false, description = "Time limit of connect and greeting together, of the login, and of each reply")
        String timeout() default "60s";

        @AttributeDefinition(required = false, description = "Slowest transfer accepted: N bytes get timeout + N / minRate")
        String minRate() default "1KiB/s";

        @AttributeDefinition(required = false, description = "Days after which a UID gone from the server is forgotten")
        int uidl_expiryDays() default 30;

        @AttributeDefinition(required = false, description = "IMAP only: keep an IDLE session open while a linked "
                + "network connection is due, and collect new mail the moment it arrives")
        boolean idle() default false;

        @AttributeDefinition(required = false, description = "With idle: end each IDLE and issue it again after this long (1s to 29m)")
        String idle_renew() default "29m";
    }

    private final Path defaultMailboxes;
    private final FileLedgers files;
    /** The mail settings' service, for {@code mailboxes.dir}; the default place while it is missing. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile OutboxComponent mail;
    private BundleContext bundleContext;
    private ServiceRegistration<MailCollector> registration;
    private volatile Settings settings;
    private volatile CollectorSettings config;

    /** Access tokens for collectors with {@code auth = oauth2} (the OAuth2 bundle). */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile OAuth2Tokens tokens;
    /** The connections and the schedule: whether a linked connection is online and due, for {@code idle}. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile ConnectionService connectionService;
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile ScheduleService scheduleService;
    /**
     * The cluster this node belongs to, or {@code null} on a single node. In a cluster the ledgers are kept in the
     * shared database (else in files), one node cluster-wide idles on the collector ({@link IdleLeases}), and new
     * mail makes the cluster fire the connection instead of a collection outside any firing, so that every ledger
     * commit goes through a firing's fence.
     */
    volatile Cluster cluster;
    /** The database store of {@link #cluster} (made once per cluster service: it creates the tables once). */
    private volatile JdbcLedgers clusterLedgers;
    /** The live-delivery session while {@code idle = true}, else null. */
    private IdleSession idle;
    private java.time.Duration idleCheck = IdleSession.CHECK_EVERY;
    private volatile ConfigException problem;
    private final TaskStatus status = new TaskStatus(Clock.systemUTC());

    public MailCollectorComponent() {
        this(Path.of(System.getProperty("karaf.data", "data")).resolve("uplink"));
    }

    private MailCollectorComponent(Path data) {
        this.defaultMailboxes = data.resolve("mailboxes");
        this.files = FileLedgers.in(data.resolve("state"));
    }

    /**
     * For tests: a collector keeping its mail and state under {@code data}, seeing these connections and this
     * schedule, checking every {@code idleCheck} whether it should still idle, registered nowhere.
     */
    MailCollectorComponent(Path data, ConnectionService connections, ScheduleService schedule, java.time.Duration idleCheck,
            Map<String, Object> properties) {
        this(data, connections, schedule, idleCheck, null, properties);
    }

    /** For tests: as above, on a node of {@code cluster} (or a single node when {@code null}). */
    MailCollectorComponent(Path data, ConnectionService connections, ScheduleService schedule, java.time.Duration idleCheck,
            Cluster cluster, Map<String, Object> properties) {
        this(data);
        this.cluster = cluster;
        this.connectionService = connections;
        this.scheduleService = schedule;
        this.idleCheck = idleCheck;
        configure(properties);
    }

    /** For tests: a collector configured from these properties, registered nowhere. */
    MailCollectorComponent(Map<String, Object> properties) {
        this();
        configure(properties);
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY, unbind = "unbindCluster")
    void bindCluster(Cluster c) {
        cluster = c;
        // a session started before belongs to the single-node way: start again the cluster's way
        idle(config);
    }

    void unbindCluster(Cluster c) {
        if (cluster == c) {
            cluster = null;
            idle(config);
        }
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
        if (registration != null) {
            registration.setProperties(serviceProperties());
        }
    }

    @Deactivate
    void deactivate() {
        IdleSession live = idleSession();
        idle(null);
        if (live != null) {
            // its sockets are closed, so it ends at once (a collection under way stops between messages)
            try {
                live.awaitEnd(java.time.Duration.ofSeconds(10));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (registration != null) {
            registration.unregister();
            registration = null;
        }
        bundleContext = null;
    }

    /** The metatype's keys and the item's {@code delivery.<domain>} keys (checked by {@link CollectorSettings}). */
    private static Set<String> knownKeys(Settings s) {
        Set<String> known = new java.util.HashSet<>(KEYS);
        known.addAll(CollectorSettings.domainDeliveryKeys(s));
        return known;
    }

    private void configure(Map<String, Object> properties) {
        Settings s = Settings.of("collector", CollectorSettings.FACTORY_PID, properties);
        this.settings = s;
        CollectorSettings parsed = null;
        ConfigException error = null;
        try {
            parsed = CollectorSettings.of(s);
        } catch (ConfigException e) {
            error = e;
        } catch (RuntimeException e) {
            // a value no check foresaw: still one line naming the collector and the file, never a failed component
            error = s.problem(null, "cannot be used: " + e);
        }
        this.config = parsed;
        this.problem = error;
        status.configured(s, knownKeys(s), error, parsed == null ? null : parsed.server(), parsed != null && !parsed.enabled, LOG);
        if (parsed != null) {
            LOG.info("collector '{}' configured: {}", s.id(), parsed.server());
        }
        idle(parsed);
    }

    /**
     * Ends the live-delivery session of the configuration before, and starts one for {@code c} when it says
     * {@code idle = true} and is enabled (its own thread, which idles only while a linked connection is due).
     */
    private synchronized void idle(CollectorSettings c) {
        if (idle != null) {
            idle.stop();
            idle = null;
        }
        if (c != null && c.idle && c.enabled) {
            Cluster in = cluster;
            IdleLeases leases = in == null ? null : IdleLeases.of(in, leaseTimeout(idleCheck));
            idle = IdleSession.start(c, SignIn.of(c.settings, c.password, c.oauth2, tokens),
                    () -> IdleGate.check(c.connections, connectionService, scheduleService),
                    leases == null ? this::collect : ctx -> fireOnIdle(c, ctx), idleCheck, leases);
        }
    }

    /** A silent node keeps its IDLE leases this long: three of the watcher's checks, at least 15 s. */
    static java.time.Duration leaseTimeout(java.time.Duration check) {
        java.time.Duration three = check.multipliedBy(3);
        return three.compareTo(java.time.Duration.ofSeconds(15)) < 0 ? java.time.Duration.ofSeconds(15) : three;
    }

    /**
     * In a cluster, new mail on the IDLE session asks the cluster to fire the connection (coalesced like every
     * fire), so that the collection runs in a firing and its ledger commits go through that firing's fence.
     */
    private CollectReport fireOnIdle(CollectorSettings c, TaskContext context) {
        ConnectionService cs = connectionService;
        String cause = "idle:" + c.id();
        status.started();
        try {
            if (cs == null) {
                return new CollectReport(c.id(), 0, 0, List.of("the connections (Uplink core) are not running"));
            }
            String firing = cs.fire(context.connectionId(), cause).id();
            LOG.debug("collector '{}': new mail on IDLE: connection '{}' fires ({})", c.id(), context.connectionId(), firing);
            status.finished("idle: connection '" + context.connectionId() + "' fired (firing " + firing + ")", List.of());
            return new CollectReport(c.id(), 0, 0, List.of());
        } catch (RuntimeException e) {
            String why = "new mail on IDLE, but connection '" + context.connectionId() + "' could not be fired: "
                    + e.getMessage();
            status.finished("idle: not fired", List.of(why));
            return new CollectReport(c.id(), 0, 0, List.of(why));
        }
    }

    /** The live-delivery session, or null (for the tests). */
    synchronized IdleSession idleSession() {
        return idle;
    }

    @Override
    public Optional<String> problem() {
        return status.problem();
    }

    @Override
    public MailTaskStatus status() {
        CollectorSettings c = config;
        MailTaskStatus st = status.snapshot(MailTaskStatus.COLLECTOR, connections(), c == null ? null : c.oauth2, tokens);
        IdleSession live = idleSession();
        String idling = live == null ? "" : live.state();
        if (!idling.startsWith("reconnecting")) {
            return st;
        }
        // a dropped IDLE session is odd but harmless: shown beside the unknown keys until it is back
        List<String> warnings = new java.util.ArrayList<>(st.warnings());
        warnings.add("idle: " + idling);
        return new MailTaskStatus(st.kind(), st.id(), st.state(), st.file(), st.error(), warnings, st.server(),
                st.connections(), st.lastRun(), st.lastResult(), st.lastError(), st.settings());
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
        status.started();
        CollectReport report = null;
        try {
            if (c == null) {
                ConfigException p = problem;
                report = new CollectReport(id(), 0, 0, List.of(p != null ? p.getMessage() : "collector '" + id() + "' is not configured"));
                return report;
            }
            ReentrantLock lock = RUNNING.computeIfAbsent(c.id(), k -> new ReentrantLock());
            lock.lockInterruptibly();
            try {
                OutboxComponent m = mail;
                Path mailboxes = m != null ? m.mailboxes() : defaultMailboxes;
                report = Collection.of(c, mailboxes, ledgers(), Clock.systemUTC(),
                        SignIn.of(c.settings, c.password, c.oauth2, tokens))
                        .withHostSessions(HostSessions.shared()).run(context);
                return report;
            } finally {
                lock.unlock();
            }
        } finally {
            // a collection on IDLE (live delivery) says so; a firing's shows in the connection's history too
            status.finished((context.firingId().startsWith("idle-") ? "idle: " : "")
                    + (report == null ? "interrupted" : report.collected() + " collected"
                    + (report.skipped() > 0 ? ", " + report.skipped() + " skipped" : "")),
                    report == null ? List.of("the run was interrupted") : report.errors());
        }
    }

    /** The cluster's database when this node runs in a cluster, else the files in {@code state/}. */
    private LedgerStore ledgers() {
        Cluster c = cluster;
        if (c == null) {
            return files;
        }
        JdbcLedgers j = clusterLedgers;
        if (j == null || !j.isOf(c)) {
            j = JdbcLedgers.of(c);
            clusterLedgers = j;
        }
        return j;
    }

    /**
     * The messages this collector leaves on the server because they are larger than {@code maxMessageSize},
     * one line each ("message 17 (5242880 bytes) is larger than maxMessageSize (1048576 bytes); left on the
     * server since ..."), for {@code collector:status}. Reported as an error only by the firing that first
     * saw them; empty when there are none or the ledger cannot be read.
     */
    public List<String> oversizedMessages() {
        CollectorSettings c = config;
        long max = c != null ? c.maxMessageSize : 0;
        try {
            return ledgers().oversized(id()).stream().map(o -> o.describe(max)).toList();
        } catch (IOException e) {
            LOG.debug("collector '{}': cannot read its ledger: {}", id(), e.toString());
            return List.of();
        }
    }

    @Override
    public String toString() {
        return "collector '" + id() + "'";
    }
}

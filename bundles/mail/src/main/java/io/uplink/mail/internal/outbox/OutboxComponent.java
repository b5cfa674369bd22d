package io.uplink.mail.internal.outbox;

import io.uplink.api.cluster.Cluster;
import io.uplink.api.config.ConfigException;
import io.uplink.api.config.Settings;
import io.uplink.api.mail.FailedMail;
import io.uplink.api.mail.FailedMessage;
import io.uplink.api.mail.LocalMailboxes;
import io.uplink.api.mail.Outbox;
import io.uplink.api.mail.QueuedMessage;
import io.uplink.mail.internal.route.Router;
import io.uplink.mail.internal.store.Maildir;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
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

/**
 * The outgoing queue as a service, configured by the optional {@code etc/io.uplink.mail.cfg}:
 * {@code outbox.dir}, {@code pickup.dir}, {@code pickup.interval}, {@code mailboxes.dir},
 * {@code postmaster}, {@code retry.initial}, {@code retry.max}, {@code retry.maxAge}, {@code bounce.to},
 * {@code localDomains}, {@code failed.retention}.
 */
@Component(service = {}, immediate = true, configurationPid = OutboxComponent.PID,
        configurationPolicy = ConfigurationPolicy.OPTIONAL)
@Designate(ocd = MailOcd.class)
public class OutboxComponent implements Outbox, FailedMail, LocalMailboxes {

    static final String PID = "io.uplink.mail";
    private static final Logger LOG = LoggerFactory.getLogger(OutboxComponent.class);
    private static final java.util.regex.Pattern DOMAIN = java.util.regex.Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*");

    private volatile OutboxStore outbox;
    private volatile Path mailboxes;
    private volatile String postmaster;
    private Pickup pickup;
    private ScheduledExecutorService poller;
    private BundleContext context;
    private ServiceRegistration<?> registration;
    /** From the settings; {@code null}: the domains of the route = headers collectors. */
    private volatile Set<String> localDomains;
    private Duration retention;

    /**
     * In a cluster the queue lives in the shared database; a node without one keeps it in files. Static and greedy:
     * the queue (and the senders on it) restart on the store that the cluster's arrival or departure calls for.
     */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.STATIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private Cluster cluster;

    // read for the default of localDomains: the domains of the route = headers collectors
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    private volatile ConfigurationAdmin configAdmin;

    /**
     * Registers the queue ({@link Outbox}, {@link FailedMail}, {@link LocalMailboxes} and this class for the
     * senders) itself, and only when {@code etc/io.uplink.mail.cfg} can be used: a bad value is one error line
     * naming the file and the key, and no queue until the file is fixed (never a queue in a folder nobody meant,
     * never a failed component with a stack trace). Each change of the file is checked again.
     */
    @Activate
    synchronized void activate(BundleContext context, Map<String, Object> properties) {
        this.context = context;
        start(properties);
    }

    @Modified
    synchronized void modified(Map<String, Object> properties) {
        stop();
        start(properties);
    }

    private void start(Map<String, Object> properties) {
        Settings s = Settings.of("mail settings", PID, properties);
        for (String w : s.unknownKeys(Settings.keysOf(MailOcd.class))) {
            LOG.warn("{}: {}", s.item(), w);
        }
        try {
            Path data = Path.of(System.getProperty("karaf.data", "data")).resolve("uplink");
            Path outboxDir = path(s, "outbox.dir", data.resolve("outbox"));
            Path pickupDir = path(s, "pickup.dir", data.resolve("pickup"));
            // the collectors deliver there too: one place for local mailboxes, movable so that a Dovecot
            // (mail_location = maildir:<mailboxes.dir>/%n) can serve them where it keeps its mail
            Path mailboxes = path(s, "mailboxes.dir", data.resolve("mailboxes"));
            String postmaster = s.string("postmaster", "postmaster");
            if (!Router.validMailbox(postmaster)) {
                throw s.problem("postmaster", "must be a mailbox name (letters, digits, . _ + -), got '" + postmaster + "'");
            }
            FileOutbox.Retry d = FileOutbox.Retry.DEFAULT;
            FileOutbox.Retry retry = new FileOutbox.Retry(s.duration("retry.initial", d.initial()),
                    s.duration("retry.max", d.max()), s.duration("retry.maxAge", d.maxAge()));
            List<String> domains = s.list("localDomains");
            for (String domain : domains) {
                if (!DOMAIN.matcher(domain).matches()) {
                    throw s.problem("localDomains", "'" + domain + "' is not a domain name such as office.example");
                }
            }
            localDomains = domains.isEmpty() ? null : lowerCase(domains);
            Duration interval = s.duration("pickup.interval", Duration.ofSeconds(2));
            if (interval.isZero()) {
                throw s.problem("pickup.interval", "must be more than 0");
            }
            FileOutbox.BounceTo bounceTo = bounceTo(s);
            retention = s.duration("failed.retention", Duration.ofDays(30));
            if (retention.isZero()) {
                throw s.problem("failed.retention", "must be more than 0");
            }
            // read here so that a bad value is reported with the others (CollectorLimitsComponent applies it)
            s.integer("maxSessionsPerHost", 8, 1, 1000);
            FileOutbox.Bounces bounces = new FileOutbox.Bounces(bounceTo, this::localMailbox);
            Cluster c = cluster;
            String where;
            if (c != null) {
                outbox = new JdbcOutbox(c.dataSource(), c::fence, mailboxes.resolve(postmaster), bounces,
                        Clock.systemUTC(), retry);
                where = "the cluster's database (node " + c.nodeId() + ")";
                warnLeftInFiles(outboxDir);
            } else {
                outbox = new FileOutbox(outboxDir, mailboxes.resolve(postmaster), bounces, Clock.systemUTC(), retry);
                where = outboxDir.toString();
            }
            this.mailboxes = mailboxes;
            this.postmaster = postmaster;
            pickup = new Pickup(pickupDir, outbox);
            poller = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "uplink-pickup");
                t.setDaemon(true);
                return t;
            });
            poller.scheduleWithFixedDelay(this::scan, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
            poller.scheduleWithFixedDelay(this::expire, 0, 1, TimeUnit.HOURS);
            LOG.info("Outbox in {} ({} waiting), pickup folder {}", where, outbox.size(), pickupDir);
        } catch (ConfigException e) {
            LOG.error("{}; no outgoing queue until the file is fixed", e.getMessage());
            return;
        } catch (IOException e) {
            LOG.error("{} ({}): cannot open the outgoing queue: {}; no outgoing queue until this is fixed", s.item(),
                    s.file(), e.toString());
            return;
        }
        registration = context.registerService(new String[] {Outbox.class.getName(), FailedMail.class.getName(),
            LocalMailboxes.class.getName(), OutboxComponent.class.getName()}, this, null);
    }

    private void stop() {
        if (registration != null) {
            try {
                registration.unregister();
            } catch (IllegalStateException alreadyGone) {
                // the bundle is stopping
            }
            registration = null;
        }
        if (poller != null) {
            poller.shutdownNow();
            try {
                poller.awaitTermination(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            poller = null;
        }
        if (outbox != null) {
            outbox.close();
        }
    }

    /** Mail queued while this node ran on its own stays in its files: say so rather than leave it unseen. */
    private static void warnLeftInFiles(Path outboxDir) {
        Path queue = outboxDir.resolve("queue");
        if (!java.nio.file.Files.isDirectory(queue)) {
            return;
        }
        try (java.util.stream.Stream<Path> files = java.nio.file.Files.list(queue)) {
            long n = files.filter(f -> f.getFileName().toString().endsWith(".state")).count();
            if (n > 0) {
                LOG.warn("{} message(s) queued while this node ran on its own stay in {}: the cluster sends from its"
                        + " database; copy their .eml files into the pickup folder to send them from the cluster", n,
                        queue);
            }
        } catch (IOException e) {
            LOG.warn("Cannot look for mail left in {}: {}", queue, e.toString());
        }
    }

    private void scan() {
        // the thread context class loader is the bundle's for Jakarta Mail's address parsing
        ClassLoader before = Thread.currentThread().getContextClassLoader();
        Thread.currentThread().setContextClassLoader(OutboxComponent.class.getClassLoader());
        try {
            pickup.scan();
        } catch (RuntimeException e) {
            LOG.error("Pickup folder scan failed: {}", e.toString(), e);
        } finally {
            Thread.currentThread().setContextClassLoader(before);
        }
    }

    private static FileOutbox.BounceTo bounceTo(Settings s) {
        String v = s.string("bounce.to", "sender").trim().toUpperCase(Locale.ROOT);
        try {
            return FileOutbox.BounceTo.valueOf(v);
        } catch (IllegalArgumentException e) {
            throw s.problem("bounce.to", "must be sender, postmaster or both, got '" + s.string("bounce.to", "") + "'");
        }
    }

    /** The local mailbox of an address in a local domain; {@code null} for an address elsewhere. */
    private Path localMailbox(String address) {
        int at = address.lastIndexOf('@');
        if (at <= 0 || !localDomains().contains(address.substring(at + 1).toLowerCase(Locale.ROOT))) {
            return null;
        }
        String local = address.substring(0, at).toLowerCase(Locale.ROOT);
        return mailboxes.resolve(Router.validMailbox(local) ? local : postmaster);
    }

    private void expire() {
        try {
            int n = outbox.expire(retention, pickup.rejectedDir());
            if (n > 0) {
                LOG.info("Removed {} failed message(s) and rejected pickup file(s) older than {} (key 'failed.retention')",
                        n, FileOutbox.human(retention));
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("Cleaning the failed folder: {}", e.toString());
        }
    }

    private static Path path(Settings s, String key, Path def) {
        String v = s.string(key, null);
        if (v == null) {
            return def;
        }
        Path p;
        try {
            p = Path.of(v);
        } catch (RuntimeException e) {
            throw s.problem(key, "is not a path: " + e.getMessage());
        }
        if (!p.isAbsolute()) {
            // relative to whatever folder Karaf was started in: never what anyone means for a queue
            throw s.problem(key, "must be an absolute path such as ${karaf.data}/uplink/outbox, got '" + v + "'");
        }
        return p;
    }

    private static Set<String> lowerCase(List<String> domains) {
        Set<String> out = new TreeSet<>();
        domains.forEach(d -> out.add(d.trim().toLowerCase(Locale.ROOT)));
        return out;
    }

    @Override
    public Set<String> localDomains() {
        if (localDomains != null) {
            return localDomains;
        }
        ConfigurationAdmin ca = configAdmin;
        Set<String> out = new TreeSet<>();
        if (ca == null) {
            return out;
        }
        try {
            Configuration[] cs = ca.listConfigurations("(&(service.factoryPid=io.uplink.collector)(route=headers))");
            for (Configuration c : cs == null ? new Configuration[0] : cs) {
                Object d = c.getProperties() == null ? null : c.getProperties().get("domains");
                if (d != null) {
                    for (String x : String.valueOf(d).split("[,\\s]+")) {
                        if (!x.isBlank()) {
                            out.add(x.trim().toLowerCase(Locale.ROOT));
                        }
                    }
                }
            }
        } catch (IOException | org.osgi.framework.InvalidSyntaxException e) {
            LOG.warn("Cannot read the collectors' domains for localDomains: {}", e.toString());
        }
        return out;
    }

    @Deactivate
    synchronized void deactivate() {
        stop();
    }

    /** The queue for the senders of this bundle. */
    @Override
    public String postmaster() {
        return postmaster;
    }

    @Override
    public void deliver(String mailbox, InputStream message) throws IOException {
        if (!Router.validMailbox(mailbox)) {
            throw new IllegalArgumentException("'" + mailbox + "' is not a mailbox name");
        }
        Maildir.open(mailboxes.resolve(mailbox)).deliver(message);
    }

    /** The root of the local mailboxes ({@code mailboxes.dir}): one Maildir per mailbox below it. */
    public Path mailboxes() {
        return mailboxes;
    }

    /** The queue's store, for the senders. */
    public OutboxStore store() {
        return outbox;
    }

    @Override
    public QueuedMessage queue(String from, List<String> recipients, InputStream message) throws IOException {
        return outbox.queue(from, recipients, message);
    }

    @Override
    public QueuedMessage submit(String from, List<String> recipients, byte[] message) throws IOException {
        return outbox.submit(from, recipients, message);
    }

    @Override
    public long usableSpace() throws IOException {
        return outbox.usableSpace();
    }

    @Override
    public int size() {
        return outbox.size();
    }

    @Override
    public List<QueuedMessage> list() {
        return outbox.list();
    }

    @Override
    public Optional<QueuedMessage> get(String id) {
        return outbox.get(id);
    }

    @Override
    public InputStream open(String id) throws IOException {
        return outbox.open(id);
    }

    @Override
    public boolean retry(String id) {
        return outbox.retry(id);
    }

    @Override
    public int retryAll() {
        return outbox.retryAll();
    }

    @Override
    public boolean delete(String id) {
        return outbox.delete(id);
    }

    @Override
    public List<FailedMessage> failed() {
        try {
            return outbox.failedMessages();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the failed folder: " + e.getMessage(), e);
        }
    }

    @Override
    public Optional<FailedMessage> failed(String id) {
        return outbox.failedMessage(id);
    }

    @Override
    public Optional<String> requeue(String id) {
        try {
            return outbox.requeue(id);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot requeue failed message " + id + ": " + e.getMessage(), e);
        }
    }

    @Override
    public int requeueAll() {
        try {
            return outbox.requeueAll();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot requeue the failed messages: " + e.getMessage(), e);
        }
    }

    @Override
    public boolean deleteFailed(String id) {
        try {
            return outbox.deleteFailed(id);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete failed message " + id + ": " + e.getMessage(), e);
        }
    }

    @Override
    public int purgeFailed(Duration olderThan) {
        try {
            return outbox.purgeFailed(Clock.systemUTC().instant().minus(olderThan));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot purge the failed folder: " + e.getMessage(), e);
        }
    }
}

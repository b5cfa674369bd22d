package io.uplink.submission.internal;

import io.uplink.api.config.ConfigException;
import io.uplink.api.mail.LocalMailboxes;
import io.uplink.api.mail.Outbox;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.metatype.annotations.Option;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The SMTP submission listener, configured by the optional {@code etc/io.uplink.submission.cfg}; a change
 * restarts the listener with the new settings; a bad setting leaves it closed, with one log line naming the key; an
 * address in use is tried again until it is free.
 */
@Component(immediate = true, configurationPid = SubmissionConfig.PID, configurationPolicy = ConfigurationPolicy.OPTIONAL,
        service = {})
@Designate(ocd = SubmissionComponent.Config.class)
public class SubmissionComponent {

    @ObjectClassDefinition(name = "Uplink submission listener",
            description = "SMTP submission for the office's mail clients: mail is answered 250 only once it is durable in "
                    + "the outbox (or a local mailbox for local domains); never an open relay.")
    public @interface Config {
        @AttributeDefinition(description = "Turn the listener off with false.")
        boolean enabled() default true;

        @AttributeDefinition(description = "Addresses to listen on, address:port, comma separated ([::1]:2525 for IPv6).")
        String[] listen() default {"127.0.0.1:2525"};

        @AttributeDefinition(description = "TLS: none, starttls (offered), required (no command but EHLO, STARTTLS, QUIT before it).",
                options = {@Option(value = "none"), @Option(value = "starttls"), @Option(value = "required")})
        String tls() default "none";

        @AttributeDefinition(description = "The listener's key store (PKCS12 or JKS), relative to etc/.", required = false)
        String keystore();

        @AttributeDefinition(name = "keystore.password", description = "Password of the key store and its key.",
                type = org.osgi.service.metatype.annotations.AttributeType.PASSWORD, required = false)
        String keystore_password();

        @AttributeDefinition(description = "Instead of a key store: the certificate chain as a PEM file, relative to etc/.",
                required = false)
        String cert();

        @AttributeDefinition(description = "The PEM private key (PKCS#8, unencrypted) of cert, relative to etc/.", required = false)
        String key();

        @AttributeDefinition(description = "required: every client logs in; optional-on-loopback: clients in networks may "
                + "send without logging in.", options = {@Option(value = "required"), @Option(value = "optional-on-loopback")})
        String auth() default "optional-on-loopback";

        @AttributeDefinition(description = "Client address blocks (CIDR) trusted to send without logging in; others may "
                + "send only to local domains unless they log in.")
        String[] networks() default {"127.0.0.0/8", "::1/128"};

        @AttributeDefinition(description = "Largest message accepted (bytes, or K/M/G); larger ones get 552.")
        String maxMessageSize() default "25M";

        @AttributeDefinition(description = "Most recipients per message; more get 452.")
        int maxRecipients() default 100;

        @AttributeDefinition(description = "Most client connections at once; more get 421.")
        int maxConnections() default 20;

        @AttributeDefinition(description = "How long a silent client is waited for (30s, 5m).")
        String timeout() default "5m";

        @AttributeDefinition(description = "Below this much free space on the outbox's disk mail gets 452 (bytes, or K/M/G).")
        String minFreeSpace() default "200M";

        @AttributeDefinition(description = "Name announced in the greeting and EHLO.", required = false)
        String hostName();

        @AttributeDefinition(description = "Karaf JAAS realm the users log in to.")
        String realm() default "karaf";

        @AttributeDefinition(description = "Roles that may send (any one of them).")
        String[] roles() default {"mailer", "admin"};

        @AttributeDefinition(name = "senders.<user>", description = "Addresses user may send from (a@x, *@y); without an "
                + "entry any address. A mismatch of envelope sender or From gets 553.", required = false)
        String senders_user();
    }

    private static final Logger LOG = LoggerFactory.getLogger(SubmissionComponent.class);

    @Reference
    private Outbox outbox;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    private volatile LocalMailboxes localMailboxes;

    /** Longest wait between two tries to open an address another process holds. */
    static final Duration RETRY_MAX = Duration.ofSeconds(30);

    private SubmissionServer server;
    /** Tries again to open the listener while its address is in use; made on the first need. */
    private ScheduledExecutorService retries;
    private ScheduledFuture<?> retry;
    /** The configuration's generation: a retry of an earlier one does nothing. */
    private int generation;

    public SubmissionComponent() {
    }

    /** For tests: the outbox DS would inject. */
    SubmissionComponent(Outbox outbox) {
        this.outbox = outbox;
    }

    @Activate
    @Modified
    synchronized void apply(Map<String, Object> properties) {
        stop();
        SubmissionConfig config;
        try {
            config = SubmissionConfig.of(properties);
            if (!config.enabled) {
                LOG.info("Submission listener is off (enabled = false)");
                return;
            }
        } catch (ConfigException e) {
            LOG.error("{}; the submission listener stays closed", e.getMessage());
            return;
        }
        open(config, generation, Duration.ofSeconds(1));
    }

    /**
     * Opens the listener. An address in use (another program on the port, or this program's previous process still
     * shutting down) is tried again, waiting twice as long each time up to {@link #RETRY_MAX}: an office server
     * started while the port is briefly taken must not stay closed until someone edits the file.
     */
    private synchronized void open(SubmissionConfig config, int gen, Duration wait) {
        if (gen != generation) {
            return;
        }
        retry = null;
        SubmissionServer s = new SubmissionServer(config, outbox, () -> localMailboxes, new JaasPasswords(config.realm));
        try {
            s.start();
            server = s;
            if (wait.compareTo(Duration.ofSeconds(1)) > 0) {
                LOG.info("Submission listener open: its address is free again");
            }
        } catch (SubmissionServer.AddressInUse e) {
            if (wait.equals(Duration.ofSeconds(1))) {
                LOG.error("Submission listener: {}; trying again until it is free, at most every {} s "
                        + "(etc/io.uplink.submission.cfg, key 'listen')", e.getMessage(), RETRY_MAX.toSeconds());
            }
            if (retries == null) {
                retries = Executors.newSingleThreadScheduledExecutor(r -> {
                    Thread t = new Thread(r, "uplink-submission-retry");
                    t.setDaemon(true);
                    return t;
                });
            }
            Duration next = wait.multipliedBy(2).compareTo(RETRY_MAX) > 0 ? RETRY_MAX : wait.multipliedBy(2);
            retry = retries.schedule(() -> open(config, gen, next), wait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (IOException e) {
            LOG.error("Submission listener: {}; it stays closed (etc/io.uplink.submission.cfg, key 'listen')", e.getMessage());
        }
    }

    /** The ports the listener has open (empty while closed or waiting for its address); for tests. */
    synchronized List<Integer> ports() {
        return server == null ? List.of() : server.ports();
    }

    synchronized void stop() {
        generation++;
        if (retry != null) {
            retry.cancel(false);
            retry = null;
        }
        if (server != null) {
            server.close();
            server = null;
        }
    }

    @Deactivate
    synchronized void deactivate() {
        stop();
        if (retries != null) {
            retries.shutdownNow();
            retries = null;
        }
    }
}

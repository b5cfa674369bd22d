package io.uplink.mail.internal.collect;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

import javax.net.ssl.SSLSocketFactory;

import io.uplink.api.config.ConfigException;
import io.uplink.api.config.Settings;
import io.uplink.mail.internal.net.ByteSizes;
import io.uplink.mail.internal.net.SessionDeadline;
import io.uplink.mail.internal.deliver.OfficeServer;
import io.uplink.mail.internal.auth.SignIn;
import io.uplink.mail.internal.route.Router;
import io.uplink.mail.internal.tls.Tls;
import io.uplink.oauth2.OAuth2Account;

/**
 * A Mail Collector's configuration ({@code etc/io.uplink.collector-<id>.cfg}), checked as a whole: a bad
 * value is a {@link ConfigException} naming the collector, the file and the key.
 */
public final class CollectorSettings {

    /** Factory PID of collectors. */
    public static final String FACTORY_PID = "io.uplink.collector";

    /** The mail protocol. */
    public enum Protocol {
        POP3(110, 995), IMAP(143, 993);

        final int plainPort;
        final int tlsPort;

        Protocol(int plainPort, int tlsPort) {
            this.plainPort = plainPort;
            this.tlsPort = tlsPort;
        }

        String jakartaName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** How the connection is protected. */
    public enum Security {
        NONE, TLS, STARTTLS, STARTTLS_IF_AVAILABLE
    }

    /** Longest line a server may send; far above any real message line, far below the heap. */
    static final long MAX_LINE = 4L * 1024 * 1024;

    final Settings settings;
    final List<String> connections;
    final boolean enabled;
    final int priority;
    final Protocol protocol;
    final String host;
    final int port;
    final Security security;
    final SSLSocketFactory tls;
    final String username;
    final String password;
    /** The OAuth2 account when {@code auth = oauth2}, else {@code null}. */
    final OAuth2Account oauth2;
    final String folder;
    final int leaveOnServerDays;
    final long maxMessageSize;
    final Router router;
    /** Where collected mail goes: {@code null} for the local Maildirs, else the office's LMTP/SMTP server. */
    final OfficeServer delivery;
    /**
     * With {@code route = headers}, the domains whose addresses go elsewhere than {@link #delivery}
     * ({@code delivery.<domain>}): to an office server, or (empty) to the local Maildirs.
     */
    final Map<String, Optional<OfficeServer>> domainDelivery;
    final Duration timeout;
    /** Bytes per second a transfer must reach at least: a message of N bytes gets timeout + N / minRate. */
    final long minRate;
    final int uidlExpiryDays;
    /** IMAP IDLE while a linked connection is online and due ({@link IdleSession}). */
    final boolean idle;
    /** How long one IDLE command may last before it is ended and issued again (RFC 2177: under 30 minutes). */
    final Duration idleRenew;

    private CollectorSettings(Settings s) {
        this.settings = s;
        this.connections = s.list("connections");
        if (connections.isEmpty()) {
            throw s.problem("connections", "is required: the ids of the connections that run this collector");
        }
        for (String c : connections) {
            if (!c.matches("[A-Za-z0-9][A-Za-z0-9._-]*")) {
                throw s.problem("connections", "'" + c + "' is not a connection id (letters, digits, '.', '_', '-')");
            }
        }
        this.enabled = s.bool("enabled", true);
        this.priority = s.integer("priority", 100, 0, 1_000_000);
        this.protocol = s.choice("protocol", Protocol.class, Protocol.POP3);
        this.host = s.required("host");
        if (!host.matches("[A-Za-z0-9.:\\[\\]_-]+")) {
            throw s.problem("host", "must be a host name or IP address, got '" + host + "'");
        }
        this.security = s.choice("security", Security.class, Security.TLS);
        this.port = s.integer("port", security == Security.TLS ? protocol.tlsPort : protocol.plainPort, 1, 65535);
        this.tls = security == Security.NONE && !s.has("trust.file") && !s.has("trust.password") ? null
                : Tls.socketFactory(s, "trust.file");
        this.username = s.required("username");
        this.oauth2 = SignIn.account(s, protocol == Protocol.IMAP ? OAuth2Account.Use.IMAP : OAuth2Account.Use.POP3);
        // OAuth2 signs in with a token: no password then
        this.password = oauth2 == null ? s.required("password") : s.string("password", "");
        String f = s.string("folder", "INBOX");
        if (protocol == Protocol.POP3 && !f.equalsIgnoreCase("INBOX")) {
            throw s.problem("folder", "POP3 has only the INBOX; remove the key or use protocol = imap");
        }
        this.folder = f;
        this.leaveOnServerDays = s.integer("leaveOnServer.days", 0, 0, 36_500);
        this.maxMessageSize = ByteSizes.size(s, "maxMessageSize", 0);
        this.timeout = s.duration("timeout", Duration.ofSeconds(60));
        if (timeout.isZero() || timeout.toMillis() > Integer.MAX_VALUE) {
            throw s.problem("timeout", "must be more than 0 and at most a few days, got '" + s.string("timeout", "") + "'");
        }
        this.minRate = ByteSizes.rate(s, "minRate", SessionDeadline.DEFAULT_MIN_RATE);
        this.uidlExpiryDays = s.integer("uidl.expiryDays", 30, 1, 36_500);
        this.router = router(s);
        this.delivery = delivery(s, "delivery");
        this.domainDelivery = domainDelivery(s, s.list("domains"));
        this.idle = s.bool("idle", false);
        if (idle && protocol != Protocol.IMAP) {
            throw s.problem("idle", "live delivery needs IMAP IDLE; a POP3 collector cannot idle: remove the key "
                    + "or use protocol = imap");
        }
        this.idleRenew = s.duration("idle.renew", MAX_IDLE_RENEW);
        if (idleRenew.toSeconds() < 1 || idleRenew.compareTo(MAX_IDLE_RENEW) > 0) {
            throw s.problem("idle.renew", "must be between 1s and 29m (servers end an IDLE after 30 minutes), got '"
                    + s.string("idle.renew", "") + "'");
        }
    }

    /** RFC 2177: a client should end an IDLE and issue it again at least every 29 minutes. */
    static final Duration MAX_IDLE_RENEW = Duration.ofMinutes(29);

    /** The keys {@code delivery.<domain>} an item has (each a key of its own, beside the metatype's). */
    static Set<String> domainDeliveryKeys(Settings s) {
        Set<String> out = new TreeSet<>();
        for (String k : s.keys()) {
            if (k.startsWith(DELIVERY_PREFIX) && k.length() > DELIVERY_PREFIX.length()) {
                out.add(k);
            }
        }
        return out;
    }

    private static final String DELIVERY_PREFIX = "delivery.";

    private static Map<String, Optional<OfficeServer>> domainDelivery(Settings s, List<String> domains) {
        Map<String, Optional<OfficeServer>> out = new LinkedHashMap<>();
        for (String k : domainDeliveryKeys(s)) {
            String domain = k.substring(DELIVERY_PREFIX.length()).toLowerCase(Locale.ROOT);
            if (!s.string("route", "").equalsIgnoreCase("headers")) {
                throw s.problem(k, "needs route = headers (a delivery per domain of the routed addresses); "
                        + "use 'delivery' for all mail of this collector");
            }
            if (domains.stream().noneMatch(d -> d.equalsIgnoreCase(domain))) {
                throw s.problem(k, "'" + domain + "' is not one of the domains (" + String.join(", ", domains)
                        + "); add it to 'domains' or fix the key");
            }
            out.put(domain, Optional.ofNullable(delivery(s, k)));
        }
        return Map.copyOf(out);
    }

    private static OfficeServer delivery(Settings s, String key) {
        String v = s.string(key, "maildir");
        if (v.equalsIgnoreCase("maildir")) {
            return null;
        }
        OfficeServer server = OfficeServer.parse(v);
        if (server == null) {
            throw s.problem(key, "must be 'maildir', 'lmtp://host:port' or 'smtp://host[:port]', got '" + v + "'");
        }
        return server;
    }

    /**
     * Where the copy for a routed address goes: its domain's {@code delivery.<domain>}, else {@code delivery};
     * {@code null} for the local Maildir named by its local part.
     */
    OfficeServer deliveryFor(String address) {
        if (!domainDelivery.isEmpty()) {
            Optional<OfficeServer> d = domainDelivery.get(address.substring(address.lastIndexOf('@') + 1).toLowerCase(Locale.ROOT));
            if (d != null) {
                return d.orElse(null);
            }
        }
        return delivery;
    }

    /** Whether any mail of this collector goes to an office server. */
    boolean deliversToServer() {
        return delivery != null || domainDelivery.values().stream().anyMatch(Optional::isPresent);
    }

    /** Whether any routed address goes to a local Maildir (the unroutable mailbox always does). */
    boolean deliversToMaildir() {
        return delivery == null || domainDelivery.values().stream().anyMatch(Optional::isEmpty);
    }

    /** Reads and checks a collector's configuration. */
    public static CollectorSettings of(Settings s) {
        return new CollectorSettings(s);
    }

    private static Router router(Settings s) {
        String route = s.string("route", null);
        String deliverTo = s.string("deliverTo", null);
        String unroutable = mailbox(s, "unroutable", s.string("unroutable", "postmaster"));
        if (route == null) {
            if (deliverTo == null) {
                throw s.problem("deliverTo", "is required: name the local mailbox (deliverTo = alice), "
                        + "or set route = headers with domains = ...");
            }
            int at = deliverTo.lastIndexOf('@');
            if (at > 0) {
                // an address: the envelope recipient at the office server, its local part the Maildir's name
                String domain = deliverTo.substring(at + 1);
                if (!domain.matches("[A-Za-z0-9.-]+")) {
                    throw s.problem("deliverTo", "'" + deliverTo + "' is not a mailbox name or an address");
                }
                String mailbox = mailbox(s, "deliverTo", deliverTo.substring(0, at));
                return Router.deliverTo(mailbox, mailbox + "@" + domain.toLowerCase(Locale.ROOT));
            }
            return Router.deliverTo(mailbox(s, "deliverTo", deliverTo));
        }
        if (!route.equalsIgnoreCase("headers")) {
            throw s.problem("route", "must be 'headers' (or leave it out and set deliverTo), got '" + route + "'");
        }
        if (deliverTo != null) {
            throw s.problem("deliverTo", "cannot be used together with route = headers; remove one of them");
        }
        List<String> domains = s.list("domains");
        if (domains.isEmpty()) {
            throw s.problem("domains", "is required with route = headers: the domains whose recipients are local");
        }
        for (String d : domains) {
            if (!d.matches("[A-Za-z0-9.-]+\\.[A-Za-z0-9-]+|[A-Za-z0-9-]+")) {
                throw s.problem("domains", "'" + d + "' is not a domain name");
            }
        }
        return Router.byHeaders(domains, unroutable);
    }

    private static String mailbox(Settings s, String key, String value) {
        String v = value.toLowerCase(Locale.ROOT);
        if (!Router.validMailbox(v)) {
            throw s.problem(key, "'" + value + "' is not a usable mailbox name (letters, digits, . _ + -; "
                    + "not starting with a dot)");
        }
        return v;
    }

    /** The collector's id. */
    public String id() {
        return settings.id();
    }

    /** How logs and errors name the server, without credentials. */
    String server() {
        return protocol.jakartaName() + "://" + host + ":" + port + " (" + security.name().toLowerCase(Locale.ROOT)
                .replace('_', '-') + ")";
    }
}

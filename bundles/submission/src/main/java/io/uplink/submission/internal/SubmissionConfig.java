package io.uplink.submission.internal;

import io.uplink.api.config.Settings;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The checked settings of the submission listener ({@code etc/io.uplink.submission.cfg}). */
final class SubmissionConfig {

    enum TlsMode { NONE, STARTTLS, REQUIRED }

    enum AuthMode { REQUIRED, OPTIONAL_ON_LOOPBACK }

    static final String PID = "io.uplink.submission";

    final boolean enabled;
    final List<InetSocketAddress> listen;
    final TlsMode tls;
    final AuthMode auth;
    final List<Cidr> networks;
    final int maxMessageSize;
    final int maxRecipients;
    final int maxConnections;
    final Duration timeout;
    final long minFreeSpace;
    final String hostName;
    final String realm;
    final List<String> roles;
    /** user → allowed sender patterns ({@code a@x}, {@code *@y}); a user without an entry may use any address. */
    final Map<String, List<String>> senders;
    final Settings settings;

    private SubmissionConfig(Settings s) {
        this.settings = s;
        this.enabled = s.bool("enabled", true);
        List<InetSocketAddress> l = new ArrayList<>();
        List<String> addresses = s.list("listen");
        for (String a : addresses.isEmpty() ? List.of("127.0.0.1:2525") : addresses) {
            l.add(address(s, a));
        }
        this.listen = List.copyOf(l);
        this.tls = s.choice("tls", TlsMode.class, TlsMode.NONE);
        this.auth = s.choice("auth", AuthMode.class, AuthMode.OPTIONAL_ON_LOOPBACK);
        List<Cidr> n = new ArrayList<>();
        List<String> nets = s.list("networks");
        for (String c : nets.isEmpty() ? List.of("127.0.0.0/8", "::1/128") : nets) {
            try {
                n.add(Cidr.parse(c));
            } catch (IllegalArgumentException e) {
                throw s.problem("networks", e.getMessage());
            }
        }
        this.networks = List.copyOf(n);
        this.maxMessageSize = (int) size(s, "maxMessageSize", 25L << 20, Integer.MAX_VALUE - 1);
        this.maxRecipients = s.integer("maxRecipients", 100, 1, 100_000);
        this.maxConnections = s.integer("maxConnections", 20, 1, 10_000);
        this.timeout = s.duration("timeout", Duration.ofMinutes(5));
        if (timeout.isZero() || timeout.toMillis() > Integer.MAX_VALUE) {
            throw s.problem("timeout", "must be more than 0 and at most a few days, got '" + s.string("timeout", "") + "'");
        }
        this.minFreeSpace = size(s, "minFreeSpace", 200L << 20, Long.MAX_VALUE);
        this.hostName = s.string("hostName", localHostName());
        this.realm = s.string("realm", "karaf");
        this.roles = s.list("roles").isEmpty() ? List.of("mailer", "admin") : s.list("roles");
        Map<String, List<String>> m = new HashMap<>();
        for (String k : s.keys()) {
            if (k.startsWith("senders.") && k.length() > "senders.".length()) {
                List<String> patterns = new ArrayList<>();
                for (String p : s.list(k)) {
                    String x = p.toLowerCase(Locale.ROOT);
                    if (!x.matches("(\\*|[^@\\s*]+)@[^@\\s*]+")) {
                        throw s.problem(k, "must list addresses such as a@example.com or *@example.com, got '" + p + "'");
                    }
                    patterns.add(x);
                }
                m.put(k.substring("senders.".length()), List.copyOf(patterns));
            }
        }
        this.senders = Map.copyOf(m);
        if (tls != TlsMode.NONE && !s.has("keystore") && !(s.has("cert") && s.has("key"))) {
            throw s.problem("tls", "is " + tls.name().toLowerCase(Locale.ROOT)
                    + ": set keystore (with keystore.password) or cert and key (PEM files)");
        }
    }

    static SubmissionConfig of(Map<String, ?> properties) {
        return new SubmissionConfig(Settings.of("submission settings", PID, properties));
    }

    /** Whether a client address is in {@code networks}. */
    boolean trusted(InetAddress client) {
        for (Cidr c : networks) {
            if (c.contains(client)) {
                return true;
            }
        }
        return false;
    }

    /** Whether {@code user} may use {@code address} as a sender (envelope or From). */
    boolean maySend(String user, String address) {
        List<String> allowed = senders.get(user);
        if (allowed == null) {
            return true;
        }
        String a = address.toLowerCase(Locale.ROOT);
        for (String p : allowed) {
            if (p.startsWith("*@") ? a.endsWith(p.substring(1)) : a.equals(p)) {
                return true;
            }
        }
        return false;
    }

    Path etc(String file) {
        Path p = Path.of(file);
        return p.isAbsolute() ? p : Path.of(System.getProperty("karaf.etc", "etc")).resolve(p);
    }

    private static InetSocketAddress address(Settings s, String a) {
        int colon = a.lastIndexOf(':');
        if (colon <= 0 || colon == a.length() - 1) {
            throw s.problem("listen", "must be address:port such as 127.0.0.1:2525 or [::1]:2525, got '" + a + "'");
        }
        String host = a.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(a.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw s.problem("listen", "has no port number in '" + a + "'");
        }
        if (port < 0 || port > 65535) {
            throw s.problem("listen", "port must be between 0 (any free port) and 65535, got '" + a + "'");
        }
        try {
            return new InetSocketAddress(InetAddress.getByName(host), port);
        } catch (UnknownHostException e) {
            throw s.problem("listen", "cannot resolve '" + host + "'");
        }
    }

    /** A byte count: {@code 25M}, {@code 512K}, {@code 1G} or a plain number. */
    static long size(Settings s, String key, long def, long max) {
        String v = s.string(key, null);
        if (v == null) {
            return def;
        }
        String t = v.toUpperCase(Locale.ROOT).replace("IB", "").replace("B", "");
        long unit = 1;
        if (t.endsWith("K")) {
            unit = 1L << 10;
        } else if (t.endsWith("M")) {
            unit = 1L << 20;
        } else if (t.endsWith("G")) {
            unit = 1L << 30;
        }
        if (unit > 1) {
            t = t.substring(0, t.length() - 1).trim();
        }
        try {
            long n = Long.parseLong(t);
            if (n < 0 || n > max / unit) {
                throw s.problem(key, "must be between 0 and " + max + " bytes, got '" + v + "'");
            }
            return n * unit;
        } catch (NumberFormatException e) {
            throw s.problem(key, "must be a size such as 25M, 512K or 1G, got '" + v + "'");
        }
    }

    private static String localHostName() {
        try {
            return InetAddress.getLocalHost().getCanonicalHostName();
        } catch (UnknownHostException e) {
            return "localhost";
        }
    }
}

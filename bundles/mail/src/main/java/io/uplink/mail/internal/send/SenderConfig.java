package io.uplink.mail.internal.send;

import io.uplink.api.config.Settings;
import io.uplink.mail.internal.net.ByteSizes;
import io.uplink.mail.internal.net.SessionDeadline;
import io.uplink.mail.internal.tls.Tls;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import javax.net.ssl.SSLSocketFactory;

import io.uplink.api.config.Settings;
import io.uplink.mail.internal.tls.Tls;
import io.uplink.oauth2.OAuth2Account;

/**
 * A Mail Sender's settings ({@code etc/io.uplink.sender-<id>.cfg}), checked once; every problem names the
 * sender, the file and the key.
 */
record SenderConfig(String id, String file, List<Host> hosts, Security security, String username, String password,
        String helo, Duration timeout, long minRate, int maxMessagesPerSession, boolean onlyWaitingAtStart, boolean smallerFirst,
        SSLSocketFactory tls) {

    /** How the connection is protected. */
    enum Security {
        NONE(25), TLS(465), STARTTLS(587), STARTTLS_IF_AVAILABLE(587);

        final int defaultPort;

        Security(int defaultPort) {
            this.defaultPort = defaultPort;
        }
    }

    /** One relay host. */
    record Host(String name, int port) {
        @Override
        public String toString() {
            return (name.contains(":") ? "[" + name + "]" : name) + ":" + port;
        }
    }

    static final String HOSTS = "hosts";
    static final String PORT = "port";
    static final String SECURITY = "security";
    static final String USERNAME = "username";
    static final String PASSWORD = "password";
    static final String HELO = "helo";
    static final String TIMEOUT = "timeout";
    static final String MIN_RATE = "minRate";
    static final String MAX_PER_SESSION = "maxMessagesPerSession";
    static final String ONLY_WAITING = "onlyWaitingAtStart";
    static final String SMALLER_FIRST = "smallerFirst";
    static final String TRUST_FILE = "trust.file";
    static final String TRUST_PASSWORD = "trust.password";

    /** The sender's description in errors and logs. */
    String item() {
        return "sender '" + id + "'";
    }

    static SenderConfig parse(Settings s) {
        Security security = s.choice(SECURITY, Security.class, Security.STARTTLS);
        int port = s.integer(PORT, security.defaultPort, 1, 65535);
        List<Host> hosts = new ArrayList<>();
        List<String> list = s.list(HOSTS);
        if (list.isEmpty()) {
            throw s.problem(HOSTS, "is required: one or more relay hosts as host[:port], for example smtp.example.net:587");
        }
        for (String h : list) {
            hosts.add(host(s, h, port));
        }
        String username = s.string(USERNAME, null);
        String password = s.string(PASSWORD, null);
        boolean oauth2 = OAuth2Account.isOAuth2(s);
        if (oauth2 && username == null) {
            throw s.problem(USERNAME, "is required with auth = oauth2: the mailbox address the token is for");
        }
        if (username != null && password == null && !oauth2) {
            throw s.problem(PASSWORD, "is required when username is set");
        }
        if (password != null && username == null) {
            throw s.problem(USERNAME, "is required when password is set");
        }
        String helo = s.string(HELO, null);
        if (helo != null && !helo.matches("[A-Za-z0-9.\\-\\[\\]:]+")) {
            throw s.problem(HELO, "must be a host name or an address literal such as [192.0.2.1], got '" + helo + "'");
        }
        Duration timeout = s.duration(TIMEOUT, Duration.ofSeconds(60));
        if (timeout.isZero() || timeout.toMillis() > Integer.MAX_VALUE) {
            throw s.problem(TIMEOUT, "must be more than 0 and less than 24 days, got '" + s.string(TIMEOUT, "") + "'");
        }
        long minRate = ByteSizes.rate(s, MIN_RATE, SessionDeadline.DEFAULT_MIN_RATE);
        int max = s.integer(MAX_PER_SESSION, 0, 0, Integer.MAX_VALUE);
        boolean onlyWaiting = s.bool(ONLY_WAITING, false);
        boolean smallerFirst = s.bool(SMALLER_FIRST, false);
        SSLSocketFactory tls = security == Security.NONE && !s.has(TRUST_FILE) && !s.has(TRUST_PASSWORD) ? null : Tls.socketFactory(s, TRUST_FILE);
        return new SenderConfig(s.id(), s.file(), hosts, security, username, password, helo, timeout, minRate, max, onlyWaiting,
                smallerFirst, tls);
    }

    private static Host host(Settings s, String value, int defaultPort) {
        String name = value;
        int port = defaultPort;
        if (value.startsWith("[")) {
            int close = value.indexOf(']');
            if (close < 0) {
                throw s.problem(HOSTS, "'" + value + "' has no closing ']'");
            }
            name = value.substring(1, close);
            String rest = value.substring(close + 1);
            if (!rest.isEmpty()) {
                if (!rest.startsWith(":")) {
                    throw s.problem(HOSTS, "'" + value + "' must be [address]:port");
                }
                port = port(s, value, rest.substring(1));
            }
        } else {
            int colon = value.lastIndexOf(':');
            if (colon >= 0 && value.indexOf(':') == colon) {
                name = value.substring(0, colon);
                port = port(s, value, value.substring(colon + 1));
            }
        }
        if (name.isEmpty() || !name.matches("[A-Za-z0-9.\\-_:%]+")) {
            throw s.problem(HOSTS, "'" + value + "' is not a host name or address");
        }
        return new Host(name, port);
    }

    private static int port(Settings s, String value, String text) {
        try {
            int p = Integer.parseInt(text);
            if (p >= 1 && p <= 65535) {
                return p;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw s.problem(HOSTS, "'" + value + "' has no valid port (1-65535)");
    }

    /** How status and logs name the relay, without credentials: {@code smtp://a:587, b:587 (starttls)}. */
    String server() {
        List<String> names = new ArrayList<>();
        for (Host h : hosts) {
            names.add(h.toString());
        }
        return "smtp://" + String.join(", ", names) + " (" + security.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-') + ")";
    }

    @Override
    public String toString() {
        // never the password
        return item() + " hosts=" + hosts + " security=" + security + (username != null ? " username=" + username : "");
    }
}
